import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildServer } from '../../cli/server.ts'
import { tailChannel } from '../../core/live/feed.ts'
import { createLiveHub, type LiveHub } from '../../core/live/index.ts'
import { LiveTestClient } from '../../test/support/live-client.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../../test/support/pipeline.ts'
import { describeWithService } from '../../test/support/services.ts'
import type { LiveServiceOptions } from './service.ts'

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`

async function sendPages(url: string, paths: readonly string[], key = TEST_WRITE_KEY): Promise<void> {
  const now = Date.now()
  const batch = paths.map((path, index) => ({ type: 'page', anonymousId: `live-${index % 3}`, timestamp: new Date(now - index).toISOString(), properties: { url: `https://shop.example${path}` } }))
  const response = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { authorization: basic(key), 'content-type': 'application/json' }, body: JSON.stringify({ batch }) })
  expect(response.status).toBe(202)
}

/** Another api instance of the same deployment: its own server and LiveService, the given hub. */
async function apiInstance(eddy: TestPipeline, hub: LiveHub, live: Partial<LiveServiceOptions> = {}): Promise<{ url: string; server: FastifyInstance }> {
  const server = await buildServer({
    logger: pino({ level: 'silent' }),
    bodyLimit: 1_000_000,
    health: { keys: eddy.runtime.keys, checks: {} },
    api: { keys: eddy.runtime.keys, clickhouse: await eddy.runtime.clickhouse(), database: eddy.runtime.config.clickhouse.database, live: { hub, ...live } },
  })
  const address = await server.listen({ port: 0, host: '127.0.0.1' })
  return { url: address, server }
}

describe('live WebSocket /api/v1/live', () => {
  let eddy: TestPipeline
  const clients: LiveTestClient[] = []
  const connect = async (url: string, options: Parameters<typeof LiveTestClient.connect>[1] = {}) => {
    const client = await LiveTestClient.connect(url, options)
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    eddy = await startTestPipeline()
  })
  afterAll(async () => {
    for (const client of clients) client.socket.terminate()
    await eddy?.stop()
  })

  it('refuses a wrong key before upgrading, and a wrong or missing auth message with 4401', async () => {
    await expect(connect(eddy.url, { header: 'not-a-read-key' })).rejects.toMatchObject({ statusCode: 401 })
    await expect(connect(eddy.url, { header: TEST_WRITE_KEY })).rejects.toMatchObject({ statusCode: 401 })
    const withWriteKey = await connect(eddy.url, { key: TEST_WRITE_KEY })
    expect(await withWriteKey.closed).toMatchObject({ code: 4401 })
    const noAuth = await connect(eddy.url)
    noAuth.send({ type: 'subscribe', channel: 'pageviews' })
    expect(await noAuth.closed).toMatchObject({ code: 4401 })
  })

  it('validates messages, and streams counters and the tail of the project after events are posted', async () => {
    const client = await connect(eddy.url, { key: TEST_READ_KEY })
    const hello = await client.waitFor((m) => m.type === 'hello')
    expect(hello).toMatchObject({ project: 'alpha' })
    client.send({ type: 'subscribe', channel: 'nonsense' })
    expect((await client.waitFor((m) => m.type === 'error')).error).toBeTruthy()
    client.send({ type: 'subscribe', channel: 'pageviews' })
    client.send({ type: 'subscribe', channel: 'logs' })
    client.send({ type: 'subscribe', channel: 'visitors' })
    client.send({ type: 'subscribe', channel: 'health' })
    client.send({ type: 'subscribe', channel: 'tail', filter: { stream: 'click', pathPrefix: '/shop' } })
    await client.waitFor((m) => m.type === 'subscribed' && m.channel === 'tail')
    // The other project's events must not show.
    await sendPages(eddy.url, ['/shop/beta'], 'test-write-key-b')
    await sendPages(eddy.url, ['/shop/a', '/shop/b', '/blog/c', '/shop/d', '/shop/e'])
    const lines = JSON.stringify({ service: 'checkout', level: 'error', message: 'payment failed' }) + '\n' + JSON.stringify({ service: 'checkout', level: 'info', message: 'ok' })
    expect((await fetch(`${eddy.url}/v1/logs`, { method: 'POST', headers: { authorization: basic(TEST_WRITE_KEY), 'content-type': 'application/x-ndjson' }, body: lines })).status).toBe(202)

    await eventually(async () => client.total('pageviews', (d) => d.pageviews), (total) => total >= 5, 10_000)
    expect(client.total('pageviews', (d) => d.pageviews)).toBe(5)
    await eventually(async () => client.total('logs', (d) => d.levels.error), (total) => total >= 1, 10_000)
    const tail = await client.waitFor((m) => m.type === 'data' && m.channel === 'tail' && m.data.events.length > 0)
    const paths = client.messages.filter((m) => m.type === 'data' && m.channel === 'tail').flatMap((m) => m.data.events.map((e: any) => e.path))
    await eventually(async () => client.messages.filter((m) => m.channel === 'tail').length, () => paths.length >= 4, 5_000)
    expect(tail.instance).toBe(hello.instance)
    expect(paths.every((path) => path.startsWith('/shop') && path !== '/shop/beta')).toBe(true)
    const health = await client.waitFor((m) => m.type === 'data' && m.channel === 'health')
    // A project's key sees its own traffic, never the shared topics' lag (which shows every tenant's).
    expect(health.data).toMatchObject({ available: true, scope: 'project', project: 'alpha' })
    expect(health.data.lag).toBeUndefined()
    const visitors = await client.waitFor((m) => m.type === 'data' && m.channel === 'visitors')
    expect(typeof visitors.data.visitors).toBe('number')
    client.send({ type: 'ping' })
    await client.waitFor((m) => m.type === 'pong')
  })

  it('resumes after a reconnect: the tail continues where it stopped, counters send the seconds missed', async () => {
    const first = await connect(eddy.url, { key: TEST_READ_KEY })
    first.send({ type: 'subscribe', channel: 'tail', filter: { pathPrefix: '/resume' } })
    first.send({ type: 'subscribe', channel: 'pageviews' })
    const subscribed = await first.waitFor((m) => m.type === 'subscribed' && m.channel === 'tail')
    await sendPages(eddy.url, ['/resume/1'])
    const seen = await first.waitFor((m) => m.type === 'data' && m.channel === 'tail')
    const lastSecond = (await first.waitFor((m) => m.type === 'data' && m.channel === 'pageviews')).seq!
    first.close()
    await first.closed

    await sendPages(eddy.url, ['/resume/2', '/resume/3'])
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    const second = await connect(eddy.url, { key: TEST_READ_KEY })
    second.send({ type: 'subscribe', channel: 'tail', filter: { pathPrefix: '/resume' }, since: { instance: subscribed.instance, seq: seen.seq } })
    second.send({ type: 'subscribe', channel: 'pageviews', since: lastSecond })
    const resumed = await second.waitFor((m) => m.type === 'subscribed' && m.channel === 'tail')
    expect(resumed).toMatchObject({ gap: false, replayed: 2 })
    const replay = await second.waitFor((m) => m.type === 'data' && m.channel === 'tail')
    expect(replay.data.events.map((e: any) => e.path).sort()).toEqual(['/resume/2', '/resume/3'])
    const history = await second.waitFor((m) => m.type === 'history' && m.channel === 'pageviews')
    expect(history.points!.every((point) => point.seq > lastSecond)).toBe(true)
    expect(history.points!.reduce((sum, point) => sum + point.data.pageviews, 0)).toBe(2)

    // A resume point from another instance cannot be honoured: the client is told about the gap.
    const elsewhere = await connect(eddy.url, { key: TEST_READ_KEY })
    elsewhere.send({ type: 'subscribe', channel: 'tail', since: { instance: 'another', seq: 1 } })
    expect(await elsewhere.waitFor((m) => m.type === 'subscribed')).toMatchObject({ gap: true, replayed: 0 })
  })

  it('drops a client that stops reading with 4008, and one that stops answering pings', async () => {
    const hub = await eddy.runtime.liveHub()
    const instance = await apiInstance(eddy, hub, { maxBufferedBytes: 64 * 1024 })
    // A paused client cannot answer pings either: heartbeats are checked on an instance of their own.
    const pinging = await apiInstance(eddy, hub, { heartbeatMs: 300 })
    try {
      const slow = await connect(instance.url, { key: TEST_READ_KEY })
      const quick = await connect(instance.url, { key: TEST_READ_KEY })
      for (const client of [slow, quick]) client.send({ type: 'subscribe', channel: 'tail' })
      await slow.waitFor((m) => m.type === 'subscribed')
      await quick.waitFor((m) => m.type === 'subscribed')
      ;(slow.socket as unknown as { _socket: { pause(): void } })._socket.pause()
      // 40 MB of tail, far more than the kernel buffers both ends hold on loopback.
      const events = Array.from({ length: 100 }, (_, index) => ({ stream: 'log', id: `big-${index}`, ts: 0, received: 0, level: 'info', service: 'flood', message: 'x'.repeat(4_000) }))
      for (let batch = 0; batch < 100; batch++) {
        await hub.publish(tailChannel('alpha'), { events })
        await new Promise((resolve) => setImmediate(resolve))
      }
      await eventually(async () => quick.messages.length, (count) => count >= 50, 20_000)
      ;(slow.socket as unknown as { _socket: { resume(): void } })._socket.resume()
      expect(await slow.closed).toMatchObject({ code: 4008 })
      expect(quick.socket.readyState).toBe(1)

      const deaf = await connect(pinging.url, { key: TEST_READ_KEY, autoPong: false })
      await deaf.waitFor((m) => m.type === 'hello')
      expect((await deaf.closed).code).toBe(1006)
    } finally {
      await instance.server.close()
      await pinging.server.close()
    }
  })

  it('serves the dashboard page and its bundled script from the api', async () => {
    const page = await fetch(`${eddy.url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(await page.text()).toContain('/dashboard/app.js')
    const script = await fetch(`${eddy.url}/dashboard/app.js`)
    expect(script.status).toBe(200)
    expect((await script.text()).length).toBeGreaterThan(10_000)
    expect((await fetch(`${eddy.url}/dashboard/uPlot.min.css`)).status).toBe(200)
  })
})

describeWithService('redis', 'REDIS_URL', 'live feed across api instances on one Redis', (redisUrl) => {
  let eddy: TestPipeline
  let other: { url: string; server: FastifyInstance } | undefined
  let otherHub: LiveHub | undefined
  const prefix = `live-test-${process.pid}-${Date.now()}`

  beforeAll(async () => {
    eddy = await startTestPipeline({ REDIS_URL: redisUrl, EDDY_TOPIC_PREFIX: prefix })
    otherHub = await createLiveHub({ redisUrl, prefix: `${prefix}:` })
    other = await apiInstance(eddy, otherHub)
  })
  afterAll(async () => {
    await other?.server.close()
    await otherHub?.close()
    await eddy?.stop()
  })

  it('serves the same counters and tail from an instance that ingested nothing', async () => {
    const here = await LiveTestClient.connect(eddy.url, { key: TEST_READ_KEY })
    const there = await LiveTestClient.connect(other!.url, { key: TEST_READ_KEY })
    try {
      for (const client of [here, there]) {
        client.send({ type: 'subscribe', channel: 'pageviews' })
        client.send({ type: 'subscribe', channel: 'tail' })
        await client.waitFor((m) => m.type === 'subscribed' && m.channel === 'tail')
      }
      const before = there.total('pageviews', (d) => d.pageviews)
      await sendPages(eddy.url, ['/x', '/y', '/z'])
      for (const client of [here, there]) {
        await eventually(async () => client.total('pageviews', (d) => d.pageviews), (total) => total >= before + 3, 10_000)
        const paths = (await client.waitFor((m) => m.type === 'data' && m.channel === 'tail' && m.data.events.some((e: any) => e.path === '/x'))).data.events.map((e: any) => e.path)
        expect(paths).toEqual(expect.arrayContaining(['/x', '/y', '/z']))
      }
      expect(there.total('pageviews', (d) => d.pageviews)).toBe(here.total('pageviews', (d) => d.pageviews))
      expect(here.messages.find((m) => m.type === 'hello')!.instance).not.toBe(there.messages.find((m) => m.type === 'hello')!.instance)
    } finally {
      here.socket.terminate()
      there.socket.terminate()
    }
  })
})
