import { gzipSync } from 'node:zlib'
import { beforeEach, describe, expect, it } from 'vitest'
import type { AvroCodec } from '../core/codec/avro-codec.ts'
import type { RecordingProducer } from '../test/support/recording-producer.ts'
import { INGEST_TOPICS, useIngestApp } from '../test/support/ingest-app.ts'
import type { FastifyInstance } from 'fastify'

const NOW = Date.parse('2026-11-22T12:00:00.000Z')
const TOPICS = INGEST_TOPICS
const WRITE_KEY = 'shop-write-key'
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`
const config = { ingest: { maxEventBytes: 2_048, maxRequestBytes: 16_384, maxFutureMs: 86_400_000, produceTimeoutMs: 200 }, retentionDays: 30 }

let app: FastifyInstance
let producer: RecordingProducer
let codec: AvroCodec
const harness = useIngestApp(config, { now: NOW, writeKey: WRITE_KEY, name: 'ingest' })
beforeEach(() => ({ app, producer, codec } = harness))

const pageview = (overrides: Record<string, unknown> = {}) => ({
  type: 'page',
  messageId: 'msg-1',
  anonymousId: 'anon-1',
  timestamp: '2026-11-22T11:59:58.000Z',
  properties: { url: 'https://shop.example/pricing?utm_source=newsletter&utm_campaign=launch', referrer: 'https://www.news.example/a', title: 'Pricing' },
  context: { userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1', locale: 'de-DE', screen: { width: 390, height: 844 } },
  ...overrides,
})

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEY), ...headers } })

const decodedClicks = () => producer.sent.filter((s) => s.topic === TOPICS.click).map((s) => {
  const decoded = codec.decode('click', s.record.value)
  if (!decoded.ok) throw new Error(decoded.reason)
  return decoded.value
})

describe('POST /v1/batch', () => {
  it('answers 202 after producing normalised, Avro-encoded events', async () => {
    const response = await post('/v1/batch', { batch: [pageview(), pageview({ type: 'track', event: 'Signed Up', messageId: 'msg-2', properties: { plan: 'pro', seats: 3 } })] })
    expect(response.statusCode).toBe(202)
    expect(response.json()).toEqual({ success: true, accepted: 2 })
    const [page, track] = decodedClicks()
    expect(page).toMatchObject({
      project_id: 'shop', type: 'pageview', path: '/pricing', referrer_domain: 'news.example', utm_source: 'newsletter', utm_campaign: 'launch',
      browser: 'Mobile Safari', os: 'iOS', device_type: 'mobile', screen: '390x844', locale: 'de-DE', title: 'Pricing', ts: NOW - 2_000, received_at: NOW,
    })
    expect(track).toMatchObject({ type: 'custom', name: 'Signed Up', properties: { plan: 'pro', seats: '3' } })
    // Records are keyed by visitor so a visitor's events stay in order in one partition.
    expect(producer.sent[0]!.record.key).toBe('anon-1')
  })

  it('maps messageId deterministically to event_id so a retry deduplicates', async () => {
    await post('/v1/batch', { batch: [pageview()] })
    await post('/v1/batch', { batch: [pageview()] })
    await post('/v1/batch', { batch: [pageview({ messageId: '0b6f3c7e-1d2a-4b5c-8d9e-0f1a2b3c4d5e' })] })
    const ids = decodedClicks().map((event) => event.event_id)
    expect(ids[0]).toBe(ids[1])
    expect(ids[2]).toBe('0b6f3c7e-1d2a-4b5c-8d9e-0f1a2b3c4d5e')
  })

  it('deduplicates numeric message ids like their text: 42 and "42" are one message', async () => {
    await post('/v1/batch', { batch: [pageview({ messageId: 42 })] })
    await post('/v1/batch', { batch: [pageview({ messageId: '42' })] })
    await post('/v1/batch', { batch: [pageview({ messageId: 43 })] })
    const [first, second, third] = decodedClicks().map((event) => event.event_id)
    expect(first).toBe(second)
    expect(third).not.toBe(first)
  })

  it('takes the body writeKey when the Basic user is not a key (a stray proxy or default user)', async () => {
    const response = await post('/v1/batch', { writeKey: WRITE_KEY, batch: [pageview()] }, { authorization: basic('proxy-user') })
    expect(response.statusCode).toBe(202)
    const unknownBoth = await post('/v1/batch', { writeKey: 'nope-nope', batch: [pageview()] }, { authorization: basic('proxy-user') })
    expect(unknownBoth.statusCode).toBe(401)
  })

  it('corrects client clock skew from sentAt as Segment does', async () => {
    // The client clock is 1 hour behind: it stamped the event 5 s before it sent the batch.
    await post('/v1/batch', { sentAt: '2026-11-22T11:00:05.000Z', batch: [pageview({ timestamp: '2026-11-22T11:00:00.000Z' })] })
    expect(decodedClicks()[0]!.ts).toBe(NOW - 5_000)
  })

  it('accepts the write key in the body and gzip bodies', async () => {
    const body = gzipSync(JSON.stringify({ writeKey: WRITE_KEY, batch: [pageview()] }))
    const response = await app.inject({ method: 'POST', url: '/v1/batch', payload: body, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
    expect(response.statusCode).toBe(202)
  })

  it('accepts text/plain bodies (navigator.sendBeacon)', async () => {
    expect((await post('/v1/batch', { batch: [pageview()] }, { 'content-type': 'text/plain;charset=UTF-8' })).statusCode).toBe(202)
  })

  it('is all-or-nothing: one bad event → 400 naming each event and field, nothing written', async () => {
    const response = await post('/v1/batch', { batch: [pageview(), pageview({ anonymousId: undefined, timestamp: 'yesterday' }), { type: 'alias' }] })
    expect(response.statusCode).toBe(400)
    expect(response.headers['content-type']).toContain('application/problem+json')
    const problem = response.json()
    expect(problem).toMatchObject({ status: 400, code: 'INGEST_INVALID_EVENTS', detail: expect.stringContaining('2 of 3') })
    expect(problem.errors).toEqual(expect.arrayContaining([
      { event: 1, field: '/batch/1/anonymousId', reason: 'userId or anonymousId is required' },
      { event: 1, field: '/batch/1/timestamp', reason: expect.stringContaining('ISO 8601') },
      { event: 2, field: '/batch/2/type', reason: expect.stringContaining('must be one of track, page, screen, identify') },
    ]))
    expect(producer.sent).toHaveLength(0)
  })

  it('rejects timestamps more than 24 h ahead or older than the retention, with the reason', async () => {
    const response = await post('/v1/batch', { batch: [pageview({ timestamp: '2026-11-24T12:00:00Z' }), pageview({ timestamp: '2026-09-01T00:00:00Z' })] })
    expect(response.statusCode).toBe(400)
    expect(response.json().errors).toEqual([
      { event: 0, field: '/batch/0/timestamp', reason: expect.stringContaining('more than 24 h in the future') },
      { event: 1, field: '/batch/1/timestamp', reason: expect.stringContaining('older than the retention of 30 days') },
    ])
    expect(producer.sent).toHaveLength(0)
  })

  it('answers 400, not 500, for epoch times beyond what a Date holds (found by fuzzing the OpenAPI document)', async () => {
    // 1e300 ms as is, and a skew correction that adds up past ±8.64e15 ms.
    const response = await post('/v1/batch', { batch: [pageview({ timestamp: 1e300 }), pageview({ timestamp: 8e15, sentAt: -8e15 })] })
    expect(response.statusCode).toBe(400)
    expect(response.json().errors).toEqual([
      { event: 0, field: '/batch/0/timestamp', reason: expect.stringContaining('1e+300 ms since the epoch is more than 24 h in the future') },
      { event: 1, field: '/batch/1/timestamp', reason: expect.stringContaining('more than 24 h in the future') },
    ])
    expect(producer.sent).toHaveLength(0)
  })

  it('answers 413 for an oversized event, naming it, and writes nothing', async () => {
    const response = await post('/v1/batch', { batch: [pageview(), pageview({ properties: { blob: 'x'.repeat(3_000) } })] })
    expect(response.statusCode).toBe(413)
    expect(response.json()).toMatchObject({ code: 'INGEST_EVENT_TOO_LARGE', errors: [{ event: 1, field: '/batch/1' }] })
    expect(producer.sent).toHaveLength(0)
  })

  it('answers 413 for an oversized request, also when the size only shows after gunzip', async () => {
    const big = { batch: Array.from({ length: 40 }, (_, i) => pageview({ messageId: `m${i}`, properties: { pad: 'y'.repeat(500) } })) }
    expect((await post('/v1/batch', big)).statusCode).toBe(413)
    const bomb = gzipSync(JSON.stringify(big))
    expect(bomb.length).toBeLessThan(config.ingest.maxRequestBytes)
    const response = await app.inject({ method: 'POST', url: '/v1/batch', payload: bomb, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: basic(WRITE_KEY) } })
    expect(response.statusCode).toBe(413)
    expect(response.json().code).toBe('INGEST_BODY_TOO_LARGE')
  })

  it('answers 415 for an unsupported content type or encoding', async () => {
    const response = await post('/v1/batch', '<xml/>', { 'content-type': 'application/xml' })
    expect(response.statusCode).toBe(415)
    expect(response.json().code).toBe('INGEST_UNSUPPORTED_MEDIA_TYPE')
    expect((await post('/v1/batch', { batch: [] }, { 'content-encoding': 'br' })).statusCode).toBe(415)
  })

  it('answers 400 for malformed JSON and a missing batch array', async () => {
    expect((await post('/v1/batch', '{"batch": [')).json()).toMatchObject({ status: 400, code: 'INGEST_MALFORMED_BODY' })
    expect((await post('/v1/batch', { events: [] })).json()).toMatchObject({ status: 400, errors: [{ field: '/batch' }] })
  })

  it('answers 401 without a write key, with an unknown one, and with a read key', async () => {
    for (const authorization of ['', basic('nope-nope-nope'), basic('shop-read-key')]) {
      const response = await post('/v1/batch', { batch: [pageview()] }, { authorization })
      expect(response.statusCode).toBe(401)
      expect(response.json().code).toBe('INGEST_UNAUTHORIZED')
    }
    expect(producer.sent).toHaveLength(0)
  })

  it('answers 503 with Retry-After when the bus cannot acknowledge, never 202', async () => {
    producer.mode = 'fail'
    const failed = await post('/v1/batch', { batch: [pageview()] })
    expect(failed.statusCode).toBe(503)
    expect(failed.headers['retry-after']).toBe('5')
    producer.mode = 'hang'
    const timedOut = await post('/v1/batch', { batch: [pageview()] })
    expect(timedOut.statusCode).toBe(503)
    expect(timedOut.json().detail).toContain('did not acknowledge within 200 ms')
  })

  it('answers 507 with Retry-After when the disk under the log is full, and 202 once it is not', async () => {
    producer.mode = 'disk-full'
    const full = await post('/v1/batch', { batch: [pageview()] })
    expect(full.statusCode).toBe(507)
    expect(full.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(full.json()).toMatchObject({ code: 'INGEST_STORAGE_FULL' })
    expect(full.headers['retry-after']).toBe('30')
    expect(producer.sent).toHaveLength(0)
    producer.mode = 'ok'
    expect((await post('/v1/batch', { batch: [pageview()] })).statusCode).toBe(202)
  })
})

describe('single calls', () => {
  it('accepts track, page and identify', async () => {
    const { type: _type, ...page } = pageview()
    expect((await post('/v1/page', page)).statusCode).toBe(202)
    expect((await post('/v1/track', { ...page, messageId: 't1', event: 'Clicked Buy' })).statusCode).toBe(202)
    expect((await post('/v1/identify', { userId: 'user-7', messageId: 'i1', traits: { email_domain: 'example.com' } })).statusCode).toBe(202)
    const [pv, track, identify] = decodedClicks()
    expect(pv!.type).toBe('pageview')
    expect(track).toMatchObject({ type: 'custom', name: 'Clicked Buy' })
    expect(identify).toMatchObject({ type: 'identify', user_id: 'user-7', anonymous_id: 'user-7', properties: { email_domain: 'example.com' } })
  })

  it('names the field of a bad single call without a batch prefix', async () => {
    const response = await post('/v1/track', { anonymousId: 'a' })
    expect(response.json().errors).toEqual([{ event: 0, field: '/event', reason: 'is required for track calls' }])
  })
})

describe('POST /v1/logs', () => {
  const line = (overrides: Record<string, unknown> = {}) => JSON.stringify({ service: 'checkout', level: 'error', message: 'payment 41 failed', timestamp: '2026-11-22T11:59:00Z', host: 'web-1', trace_id: 'abc', request_id: 'r-1', ...overrides })

  it('accepts NDJSON and reports bad lines by line number while accepting the rest', async () => {
    const body = [line(), '{broken', line({ level: 'loud' }), '', line({ service: undefined, msg: 'x' }), line({ level: 30, message: 'ok' })].join('\n')
    const response = await post('/v1/logs', body, { 'content-type': 'application/x-ndjson' })
    expect(response.statusCode).toBe(202)
    const result = response.json()
    expect(result.accepted).toBe(2)
    expect(result.rejected).toEqual([
      { event: 2, field: '', reason: expect.stringContaining('not valid JSON') },
      { event: 3, field: '/level', reason: expect.stringContaining('must be one of') },
      { event: 5, field: '/service', reason: 'is required' },
    ])
    const logs = producer.sent.map((s) => codec.decode('log', s.record.value)).map((d) => d.ok && d.value)
    expect(logs[0]).toMatchObject({ service: 'checkout', level: 'error', host: 'web-1', trace_id: 'abc', attributes: { request_id: 'r-1' } })
    expect(logs[1]).toMatchObject({ level: 'info', message: 'ok' })
  })

  it('refuses a line whose host, logger or trace ids are not strings, instead of storing it without them', async () => {
    const body = [line({ host: 42 }), line({ trace_id: { id: 'x' } }), line({ span_id: 7 }), line({ logger: ['a'] }), line({ host: { name: 'web-9' } })].join('\n')
    const response = await post('/v1/logs', body, { 'content-type': 'application/x-ndjson' })
    expect(response.statusCode).toBe(202)
    expect(response.json().accepted).toBe(1)
    expect(response.json().rejected.map((error: { event: number; field: string }) => [error.event, error.field])).toEqual([[1, '/host'], [2, '/trace_id'], [3, '/span_id'], [4, '/logger']])
    const [stored] = producer.sent.map((s) => codec.decode('log', s.record.value)).map((d) => d.ok && d.value)
    // An ECS-style host object (Filebeat, Elastic Agent) gives its name.
    expect(stored).toMatchObject({ host: 'web-9' })
  })

  it('keeps the write key of a single-object body out of the stored attributes', async () => {
    const response = await post('/v1/logs', { writeKey: WRITE_KEY, service: 'checkout', message: 'one line', region: 'eu' }, { authorization: '' })
    expect(response.statusCode).toBe(202)
    const [stored] = producer.sent.map((s) => codec.decode('log', s.record.value)).map((d) => d.ok && d.value)
    expect(stored).toMatchObject({ message: 'one line', attributes: { region: 'eu' } })
    expect((stored as { attributes: Record<string, string> }).attributes).not.toHaveProperty('writeKey')
  })

  it('answers 400 to NDJSON posted to the OTLP path, which takes one ExportLogsServiceRequest', async () => {
    const response = await post('/otlp/v1/logs', [line(), line()].join('\n'), { 'content-type': 'application/json' })
    expect(response.statusCode).toBe(400)
    expect(response.headers['content-type']).toContain('application/problem+json')
    const notArray = await post('/otlp/v1/logs', { resourceLogs: { scopeLogs: [] } })
    expect(notArray.statusCode).toBe(400)
    expect(notArray.json().errors).toEqual([{ field: '/resourceLogs', reason: 'must be an array' }])
    expect(producer.sent).toHaveLength(0)
  })

  it('accepts a JSON array; rejects oversized lines; 400 when no line is valid', async () => {
    const ok = await post('/v1/logs', [JSON.parse(line()), { service: 's', message: 'm'.repeat(3_000) }])
    expect(ok.statusCode).toBe(202)
    expect(ok.json().rejected).toEqual([{ event: 1, field: '', reason: expect.stringContaining('more than the limit of 2048') }])
    const none = await post('/v1/logs', '{bad\n{worse', { 'content-type': 'application/x-ndjson' })
    expect(none.statusCode).toBe(400)
    expect(none.json().errors).toHaveLength(2)
  })
})

describe('POST /v1/notifications', () => {
  const notification = (overrides: Record<string, unknown> = {}) => ({ notification_id: 'n-1', channel: 'email', status: 'sent', provider: 'sendgrid', template: 'welcome', timestamp: '2026-11-22T11:59:00Z', ...overrides })

  it('accepts a JSON array and derives a stable event id when none is given', async () => {
    const response = await post('/v1/notifications', [notification(), notification({ status: 'delivered' })])
    expect(response.statusCode).toBe(202)
    await post('/v1/notifications', [notification()])
    const ids = producer.sent.map((s) => codec.decode('notification', s.record.value)).map((d) => d.ok && d.value.event_id)
    expect(ids[0]).toBe(ids[2])
    expect(ids[0]).not.toBe(ids[1])
  })

  it('is all-or-nothing and names the fields', async () => {
    const response = await post('/v1/notifications', [notification(), notification({ channel: 'pigeon', status: undefined })])
    expect(response.statusCode).toBe(400)
    expect(response.json().errors).toEqual([
      { event: 1, field: '/1/channel', reason: expect.stringContaining('must be one of email') },
      { event: 1, field: '/1/status', reason: expect.stringContaining('is required') },
    ])
    expect(producer.sent).toHaveLength(0)
  })
})

it('answers unknown routes with a problem', async () => {
  const response = await app.inject({ method: 'GET', url: '/v1/nothing' })
  expect(response.statusCode).toBe(404)
  expect(response.headers['content-type']).toContain('application/problem+json')
})
