import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateTraffic } from '../../traffic/generator.ts'
import { sendRequests, toRequests } from '../../traffic/sender.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

let eddy: TestPipeline
beforeAll(async () => {
  eddy = await startTestPipeline()
})
afterAll(async () => {
  await eddy?.stop()
})

async function rawCount(table: string, where = '1'): Promise<{ rows: number; distinct: number }> {
  const clickhouse = await eddy.runtime.clickhouse()
  const result = await clickhouse.query({
    query: `SELECT count() AS rows, uniqExact(event_id) AS distinct FROM eddy.${table} FINAL WHERE ${where}`,
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ rows: string; distinct: string }>()
  return { rows: Number(row!.rows), distinct: Number(row!.distinct) }
}

const basic = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`
const post = (path: string, body: unknown, contentType = 'application/json') =>
  fetch(`${eddy.url}${path}`, { method: 'POST', headers: { authorization: basic, 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) })

describe('end to end: HTTP → embedded log → ClickHouse', () => {
  it('stores 10,000 demo events exactly once, and a duplicated messageId once', async () => {
    const now = Date.now()
    const events = generateTraffic({ seed: 7, events: 10_000, startMs: now - 3_600_000, spanMs: 3_600_000 })
    expect(events.length).toBeGreaterThanOrEqual(10_000)
    // Every 10th request is sent twice, as a client that never saw the first 202 would.
    const requests = toRequests(events, 100)
    const withRetries = requests.flatMap((request, index) => (index % 10 === 0 ? [request, request] : [request]))
    const result = await sendRequests(withRetries, { baseUrl: eddy.url, writeKey: TEST_WRITE_KEY, batchSize: 100, concurrency: 4 })
    expect(result.rejected).toBe(0)

    const expected = { click: 0, log: 0, notification: 0 }
    for (const event of events) expected[event.stream] += 1
    for (const [stream, table] of [['click', 'events_click'], ['log', 'events_log'], ['notification', 'events_notification']] as const) {
      const counts = await eventually(() => rawCount(table, "project_id = 'alpha'"), (c) => c.rows >= expected[stream])
      expect(counts, stream).toEqual({ rows: expected[stream], distinct: expected[stream] })
    }

    const response = await fetch(`${eddy.url}/api/v1/events/count?stream=click&from=${new Date(now - 7_200_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}`, { headers: { authorization: `Bearer ${TEST_READ_KEY}` } })
    expect(await response.json()).toMatchObject({ count: expected.click })
  })

  it('every endpoint reaches ClickHouse with the normalised fields', async () => {
    const id = (suffix: string) => `e2e-${suffix}-${Date.now()}`
    const anonymousId = id('visitor')
    expect((await post('/v1/page', { anonymousId, messageId: id('p'), properties: { url: 'https://shop.example/docs?utm_source=hn', referrer: 'https://news.ycombinator.com/' } })).status).toBe(202)
    expect((await post('/v1/track', { anonymousId, messageId: id('t'), event: 'Signed Up', properties: { plan: 'pro' } })).status).toBe(202)
    expect((await post('/v1/identify', { anonymousId, userId: 'user-42', messageId: id('i'), traits: { tier: 'gold' } })).status).toBe(202)
    expect((await post('/v1/batch', { batch: [{ type: 'track', anonymousId, messageId: id('b'), event: 'Added to Cart' }] })).status).toBe(202)
    const service = id('svc')
    expect((await post('/v1/logs', `{"service":"${service}","level":"warn","message":"disk 91% full"}\n{"service":"${service}","msg":"ok"}`, 'application/x-ndjson')).status).toBe(202)
    const notificationId = id('n')
    expect((await post('/v1/notifications', [{ notification_id: notificationId, channel: 'sms', status: 'failed', provider: 'twilio', error_code: '30003' }])).status).toBe(202)

    const clickhouse = await eddy.runtime.clickhouse()
    const rows = async (query: string, params: Record<string, unknown>) => (await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<Record<string, unknown>>()
    const clicks = await eventually(
      () => rows('SELECT type, name, path, utm_source, referrer_domain, user_id, properties FROM eddy.events_click FINAL WHERE anonymous_id = {a:String} ORDER BY name, type', { a: anonymousId }),
      (r) => r.length === 4,
    )
    expect(clicks).toEqual([
      { type: 'identify', name: '', path: '', utm_source: '', referrer_domain: '', user_id: 'user-42', properties: { tier: 'gold' } },
      { type: 'pageview', name: '', path: '/docs', utm_source: 'hn', referrer_domain: 'news.ycombinator.com', user_id: '', properties: expect.any(Object) },
      { type: 'custom', name: 'Added to Cart', path: '', utm_source: '', referrer_domain: '', user_id: '', properties: {} },
      { type: 'custom', name: 'Signed Up', path: '', utm_source: '', referrer_domain: '', user_id: '', properties: { plan: 'pro' } },
    ])
    const logs = await eventually(() => rows('SELECT level, message FROM eddy.events_log FINAL WHERE service = {s:String} ORDER BY message', { s: service }), (r) => r.length === 2)
    expect(logs).toEqual([{ level: 'warn', message: 'disk 91% full' }, { level: 'info', message: 'ok' }])
    const notifications = await eventually(() => rows('SELECT channel, status, provider, error_code FROM eddy.events_notification FINAL WHERE notification_id = {n:String}', { n: notificationId }), (r) => r.length === 1)
    expect(notifications).toEqual([{ channel: 'sms', status: 'failed', provider: 'twilio', error_code: '30003' }])
  })

  it('a read key of project alpha sees nothing of beta, and a write key cannot read', async () => {
    const betaBasic = `Basic ${Buffer.from('test-write-key-b:').toString('base64')}`
    const sent = await fetch(`${eddy.url}/v1/track`, { method: 'POST', headers: { authorization: betaBasic, 'content-type': 'application/json' }, body: JSON.stringify({ anonymousId: 'b1', event: 'Beta Only', messageId: 'beta-1' }) })
    expect(sent.status).toBe(202)
    const range = `from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`
    const beta = await eventually(async () => (await (await fetch(`${eddy.url}/api/v1/events/count?stream=click&${range}`, { headers: { authorization: 'Bearer test-read-key-b' } })).json()) as { count: number }, (b) => b.count === 1)
    expect(beta.count).toBe(1)
    const alpha = (await (await fetch(`${eddy.url}/api/v1/events/count?stream=click&${range}`, { headers: { authorization: `Bearer ${TEST_READ_KEY}` } })).json()) as { count: number }
    const alphaOnly = await rawCount('events_click', "project_id = 'alpha'")
    expect(alpha.count).toBe(alphaOnly.rows)
    const withWriteKey = await fetch(`${eddy.url}/api/v1/events/count?stream=click&${range}`, { headers: { authorization: `Bearer ${TEST_WRITE_KEY}` } })
    expect(withWriteKey.status).toBe(401)
  })

  it('reports readiness of the bus and the store', async () => {
    const response = await fetch(`${eddy.url}/readyz`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ready', checks: { bus: true, clickhouse: true } })
  })
})
