import { gunzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyRing } from '../../core/auth/keys.ts'
import { AvroCodec } from '../../core/codec/avro-codec.ts'
import { installProblemHandler } from '../../core/http/error-handler.ts'
import { createHttpServer } from '../../core/http/server.ts'
import { LocalSchemaRegistry } from '../../core/registry/local.ts'
import { RecordingProducer } from '../../test/support/recording-producer.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import type { IngestDependencies } from '../dependencies.ts'
import { installBodyParsers } from '../body.ts'
import { FRAMEWORK_PROBLEMS } from '../errors.ts'
import { UserAgentParser } from '../normalise/user-agent.ts'
import { EventPublisher } from '../publisher.ts'
import { segmentRoutes } from '../routes/segment.ts'
import { snippetPlugin, type SnippetSettings } from './plugin.ts'

const NOW = Date.parse('2026-11-22T12:00:00.000Z')
const TOPICS = { click: 'eddy.clicks', log: 'eddy.logs', notification: 'eddy.notifications' } as const
const WRITE_KEY = 'shop-write-key'
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36'
const directory = temporaryDirectory('snippet')
let codec: AvroCodec

beforeAll(async () => {
  codec = await AvroCodec.create(new LocalSchemaRegistry(`${directory.path}/registry.json`), TOPICS)
})
afterAll(() => directory.remove())

/** Ingest's segment routes plus the snippet plugin, mounted as ingest/app.ts mounts them. */
async function ingest(settings: SnippetSettings & { trustedProxies?: string[]; visitorSecret?: string } = {}, clock = () => NOW) {
  const producer = new RecordingProducer()
  const config = { ingest: { maxEventBytes: 32_768, maxRequestBytes: 512_000, maxFutureMs: 86_400_000, produceTimeoutMs: 200, ...settings }, retentionDays: 30 }
  const dependencies: IngestDependencies = {
    config,
    keys: new KeyRing([{ id: 'shop', writeKeys: [WRITE_KEY], readKeys: [] }]),
    publisher: new EventPublisher({ producer, codec, topics: TOPICS, timeoutMs: 200, busHealthy: () => true }),
    clock,
    timeBounds: { maxFutureMs: 86_400_000, retentionMs: 30 * 86_400_000 },
    userAgents: new UserAgentParser(),
  }
  const app = createHttpServer({ logger: pino({ level: 'silent' }), bodyLimit: 512_000 })
  installProblemHandler(app, FRAMEWORK_PROBLEMS)
  await app.register(async (scope) => {
    installBodyParsers(scope)
    await scope.register(segmentRoutes, dependencies)
    await scope.register(snippetPlugin, dependencies)
  })
  const clicks = () => producer.sent.map((sent) => {
    const decoded = codec.decode('click', sent.record.value)
    if (!decoded.ok) throw new Error(decoded.reason)
    return decoded.value
  })
  return { app, clicks }
}

const beacon = (app: FastifyInstance, url: string, batch: unknown[], headers: Record<string, string> = {}, remoteAddress?: string) =>
  app.inject({
    method: 'POST', url, remoteAddress,
    payload: JSON.stringify({ writeKey: WRITE_KEY, sentAt: new Date(NOW).toISOString(), batch }),
    headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': UA, origin: 'https://shop.example', ...headers },
  })

const cookielessPage = (id: string, url = 'https://shop.example/pricing') => ({
  type: 'page', messageId: id, timestamp: new Date(NOW - 1_000).toISOString(), context: { cookieless: true, page: { url } },
})

describe('serving the script', () => {
  it('serves eddy.js with an ETag, caching headers and gzip, and answers a revalidation with 304', async () => {
    const { app } = await ingest()
    const plain = await app.inject({ method: 'GET', url: '/eddy.js' })
    expect(plain.statusCode).toBe(200)
    expect(plain.headers).toMatchObject({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': expect.stringContaining('max-age=3600'), vary: 'accept-encoding' })
    expect(plain.body).toContain('"/v1/batch"')
    const etag = plain.headers.etag as string
    const gzipped = await app.inject({ method: 'GET', url: '/eddy.js', headers: { 'accept-encoding': 'gzip, br' } })
    expect(gzipped.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gzipped.rawPayload).toString()).toBe(plain.body)
    const revalidated = await app.inject({ method: 'GET', url: '/eddy.js', headers: { 'if-none-match': etag } })
    expect(revalidated.statusCode).toBe(304)
    expect(revalidated.body).toBe('')
    const module = await app.inject({ method: 'GET', url: '/eddy.mjs' })
    expect(module.statusCode).toBe(200)
    expect(module.body).toMatch(/export\s*\{/)
  })

  it('serves under a first-party script name and collect path, the alias posting like /v1/batch', async () => {
    const { app, clicks } = await ingest({ scriptPath: '/js/site.js', collectPath: '/e' })
    expect((await app.inject({ method: 'GET', url: '/eddy.js' })).statusCode).toBe(404)
    const script = await app.inject({ method: 'GET', url: '/js/site.js' })
    expect(script.statusCode).toBe(200)
    expect(script.body).toContain('"/e"')
    // The ESM build beside it defaults to the same collect path.
    const module = await app.inject({ method: 'GET', url: '/js/site.mjs' })
    expect(module.statusCode).toBe(200)
    expect(module.body).toContain('"/e"')
    const response = await beacon(app, '/e', [{ type: 'track', event: 'Signed Up', anonymousId: 'a1', messageId: '0b6f3c7e-1d2a-4b5c-8d9e-0f1a2b3c4d5e' }])
    expect(response.statusCode).toBe(202)
    expect(response.headers['access-control-allow-origin']).toBe('*')
    expect(clicks()).toEqual([expect.objectContaining({ event_id: '0b6f3c7e-1d2a-4b5c-8d9e-0f1a2b3c4d5e', name: 'Signed Up', anonymous_id: 'a1', visitor_hash: null })])
  })

  it('refuses a script or collect path that is not an absolute URL path', async () => {
    await expect(ingest({ collectPath: 'collect' })).rejects.toThrow('must be an absolute URL path')
  })
})

describe('CORS on the collect routes', () => {
  it('answers preflights and puts CORS headers on answers and problems, exposing Retry-After', async () => {
    const { app } = await ingest({ collectPath: '/e' })
    for (const url of ['/v1/batch', '/v1/track', '/e']) {
      const preflight = await app.inject({ method: 'OPTIONS', url, headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
      expect(preflight.statusCode, url).toBe(204)
      expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': '*', 'access-control-allow-methods': 'POST', 'access-control-allow-headers': expect.stringContaining('content-type') })
    }
    const refused = await beacon(app, '/v1/batch', [{ type: 'track' }])
    expect(refused.statusCode).toBe(400)
    expect(refused.headers).toMatchObject({ 'access-control-allow-origin': '*', 'access-control-expose-headers': 'retry-after' })
  })
})

describe('cookieless visitors', () => {
  it('derives anonymous_id from a daily salted hash of project, site, address and user agent', async () => {
    let now = NOW
    const { app, clicks } = await ingest({}, () => now)
    expect((await beacon(app, '/v1/batch', [cookielessPage('p1'), cookielessPage('p2', 'https://www.shop.example/docs')])).statusCode).toBe(202)
    expect((await beacon(app, '/v1/batch', [cookielessPage('p3')], { 'user-agent': `${UA} Edg/140` })).statusCode).toBe(202)
    expect((await beacon(app, '/v1/batch', [cookielessPage('p4', 'https://blog.example/')])).statusCode).toBe(202)
    now += 86_400_000
    expect((await beacon(app, '/v1/batch', [{ ...cookielessPage('p5'), timestamp: new Date(now).toISOString() }], {})).statusCode).toBe(202)
    const [first, sameSite, otherBrowser, otherSite, nextDay] = clicks()
    expect(first!.visitor_hash).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(first!.anonymous_id).toBe(first!.visitor_hash)
    expect(sameSite!.visitor_hash).toBe(first!.visitor_hash)
    for (const other of [otherBrowser, otherSite, nextDay]) expect(other!.visitor_hash).not.toBe(first!.visitor_hash)
  })

  it('ignores X-Forwarded-For unless the peer is a trusted proxy', async () => {
    const untrusted = await ingest()
    await beacon(untrusted.app, '/v1/batch', [cookielessPage('a')], {}, '203.0.113.9')
    await beacon(untrusted.app, '/v1/batch', [cookielessPage('b')], { 'x-forwarded-for': '198.51.100.1' }, '203.0.113.9')
    const [direct, forged] = untrusted.clicks()
    expect(forged!.visitor_hash).toBe(direct!.visitor_hash)

    const proxied = await ingest({ trustedProxies: ['10.0.0.0/8'] })
    await beacon(proxied.app, '/v1/batch', [cookielessPage('c')], { 'x-forwarded-for': '198.51.100.1' }, '10.1.2.3')
    await beacon(proxied.app, '/v1/batch', [cookielessPage('d')], { 'x-forwarded-for': '198.51.100.2' }, '10.1.2.3')
    await beacon(proxied.app, '/v1/batch', [cookielessPage('e')], { 'x-forwarded-for': '198.51.100.1, 10.9.9.9' }, '10.1.2.3')
    const [one, two, throughTwoProxies] = proxied.clicks()
    expect(two!.visitor_hash).not.toBe(one!.visitor_hash)
    expect(throughTwoProxies!.visitor_hash).toBe(one!.visitor_hash)
  })

  it('still requires an id from clients that do not ask for cookieless mode', async () => {
    const { app } = await ingest()
    const response = await beacon(app, '/v1/batch', [{ type: 'page', messageId: 'x', context: { page: { url: 'https://shop.example/' } } }])
    expect(response.statusCode).toBe(400)
    expect(response.json().errors).toEqual([{ event: 0, field: '/batch/0/anonymousId', reason: 'userId or anonymousId is required' }])
  })
})
