import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { partitionForKey } from '../core/bus/embedded/murmur2.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../test/support/pipeline.ts'

/**
 * Known events through the whole pipeline (ingest → log → processors → ClickHouse), then exact
 * answers from every endpoint. Times are relative to B, the start of the UTC hour three hours
 * ago, so windows close and nothing is refused as too old.
 */
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const B = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR
const iso = (ms: number) => new Date(ms).toISOString()
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

let eddy: TestPipeline
/** One visitor per partition of the default four: clicks are partitioned by visitor. */
const LIVE_VISITORS = [0, 1, 2, 3].map((partition) => {
  for (let index = 0; ; index++) if (partitionForKey(`live-${index}`, 4) === partition) return `live-${index}`
})
let nowSent = 0

const page = (visitor: string, at: number, path: string, agent: string, country: string, referrer = '') => ({
  type: 'page', anonymousId: visitor, messageId: `${visitor}-${at}-${path}`, timestamp: iso(at),
  properties: { url: `https://shop.example${path}`, referrer }, context: { userAgent: agent, location: { country } },
})
const track = (visitor: string, at: number, event: string, properties: Record<string, string>, agent: string, country: string) => ({
  type: 'track', anonymousId: visitor, messageId: `${visitor}-${at}-${event}`, timestamp: iso(at), event, properties, context: { userAgent: agent, location: { country } },
})

async function send(path: string, body: unknown, key = TEST_WRITE_KEY, contentType = 'application/json') {
  const response = await fetch(`${eddy.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  expect(response.status, await response.clone().text()).toBe(202)
}

async function get(path: string, key = TEST_READ_KEY): Promise<{ status: number; type: string; body: any }> {
  const response = await fetch(`${eddy.url}${path}`, { headers: { authorization: `Bearer ${key}` } })
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: await response.json() }
}

/** Polls an endpoint until `done` holds (the processors write asynchronously), then returns the body. */
async function settled(path: string, done: (body: any) => boolean, key = TEST_READ_KEY) {
  const result = await eventually(() => get(path, key), (r) => r.status === 200 && done(r.body), 45_000)
  expect(result.status, JSON.stringify(result.body)).toBe(200)
  return result.body
}

const range = (from: number, to: number) => `from=${encodeURIComponent(iso(from))}&to=${encodeURIComponent(iso(to))}`
const HOUR_RANGE = range(B, B + HOUR)
const q = (value: unknown) => encodeURIComponent(JSON.stringify(value))

beforeAll(async () => {
  eddy = await startTestPipeline()
  // Clicks in event-time order, so that no window is closed before its events arrive.
  await send('/v1/batch', {
    batch: [
      page('v1', B + 1 * MINUTE, '/', FIREFOX, 'DE', 'https://news.ycombinator.com/'),
      page('v2', B + 1 * MINUTE + 30_000, '/', CHROME, 'US'),
      page('v1', B + 2 * MINUTE, '/pricing', FIREFOX, 'DE'),
      track('v1', B + 3 * MINUTE + 10_000, 'Signed Up', { plan: 'pro' }, FIREFOX, 'DE'),
      page('v3', B + 5 * MINUTE + 10_000, '/pricing', FIREFOX, 'FR', 'https://www.google.com/'),
      page('v2', B + 5 * MINUTE + 40_000, '/blog/post-1', CHROME, 'US'),
      page('v3', B + 40 * MINUTE, '/pricing', FIREFOX, 'FR'),
      page('v4', B + 62 * MINUTE, '/', CHROME, 'US'),
    ],
  })
  await send('/v1/batch', { batch: [page('b1', B + 10 * MINUTE, '/beta', CHROME, 'US')] }, 'test-write-key-b')

  const line = (at: number, service: string, level: string, message: string) => JSON.stringify({ timestamp: iso(at), service, level, message })
  const lines = [
    line(B + MINUTE, 'checkout', 'info', 'ok'), line(B + MINUTE + 1, 'checkout', 'info', 'ok'), line(B + MINUTE + 2, 'checkout', 'info', 'ok'),
    line(B + MINUTE + 1_000, 'checkout', 'error', 'payment 41 failed'), line(B + MINUTE + 2_000, 'checkout', 'error', 'payment 42 failed'),
    line(B + 2 * MINUTE, 'api', 'warn', 'slow'), line(B + 2 * MINUTE + 1_000, 'api', 'error', 'db timeout after 30s'),
    line(B + 3 * MINUTE, 'checkout', 'error', 'payment 43 failed'),
  ]
  // worker: five quiet minutes of 20 lines (the baseline's warm-up), then a minute half errors.
  for (let minute = 10; minute <= 15; minute++) {
    for (let index = 0; index < 20; index++) {
      const failing = minute === 15 && index < 10
      lines.push(line(B + minute * MINUTE + index * 1_000, 'worker', failing ? 'error' : 'info', failing ? `job ${index} crashed` : 'job done'))
    }
  }
  await send('/v1/logs', lines.join('\n'), TEST_WRITE_KEY, 'application/x-ndjson')

  const n = (id: string, at: number, channel: string, provider: string, template: string, status: string, error_code?: string) =>
    ({ notification_id: id, timestamp: iso(at), channel, provider, template, status, ...(error_code ? { error_code } : {}) })
  await send('/v1/notifications', [
    n('n1', B + MINUTE, 'email', 'sendgrid', 'welcome', 'sent'), n('n2', B + MINUTE, 'email', 'sendgrid', 'welcome', 'sent'), n('n3', B + MINUTE, 'email', 'sendgrid', 'welcome', 'sent'),
    n('n1', B + MINUTE + 2_000, 'email', 'sendgrid', 'welcome', 'delivered'), n('n2', B + MINUTE + 4_000, 'email', 'sendgrid', 'welcome', 'delivered'),
    n('n3', B + MINUTE + 6_000, 'email', 'sendgrid', 'welcome', 'delivered'),
    n('n4', B + 2 * MINUTE, 'sms', 'twilio', 'otp', 'sent'), n('n5', B + 2 * MINUTE, 'sms', 'twilio', 'otp', 'sent'), n('n6', B + 2 * MINUTE, 'sms', 'twilio', 'otp', 'sent'),
    n('n4', B + 2 * MINUTE + 1_000, 'sms', 'twilio', 'otp', 'failed', '30003'), n('n5', B + 2 * MINUTE + 1_000, 'sms', 'twilio', 'otp', 'failed', '30005'),
    n('n6', B + 2 * MINUTE + 8_000, 'sms', 'twilio', 'otp', 'delivered'),
    n('n1', B + 2 * MINUTE + 2_000, 'email', 'sendgrid', 'welcome', 'opened'),
    n('n7', B + 3 * MINUTE, 'push', 'fcm', 'promo', 'queued'),
    n('n1', B + 3 * MINUTE, 'email', 'sendgrid', 'welcome', 'clicked'),
    n('n2', B + 5 * MINUTE + 4_000, 'email', 'sendgrid', 'welcome', 'opened'),
  ])

  // Then the present: a visitor active now in every partition (which also moves each partition's
  // watermark past the sessions above, so they close), and a line that does the same for the
  // worker's minutes.
  nowSent = Date.now()
  await send('/v1/batch', { batch: LIVE_VISITORS.map((visitor, index) => page(visitor, nowSent - 5_000 + index, '/live', CHROME, 'US')) })
  await send('/v1/logs', line(nowSent, 'worker', 'info', 'job done'), TEST_WRITE_KEY, 'application/x-ndjson')
}, 120_000)

afterAll(async () => {
  await eddy?.stop()
})

describe('web analytics', () => {
  it('aggregate: visitors and pageviews from raw events, visit metrics from sessions', async () => {
    const body = await settled(`/api/v1/stats/aggregate?${HOUR_RANGE}`, (b) => b.results.pageviews.value === 6 && b.results.sessions.value === 4)
    expect(body.results).toEqual({
      visitors: { value: 3 }, pageviews: { value: 6 }, sessions: { value: 4 },
      bounce_rate: { value: 50 }, visit_duration: { value: 95 }, views_per_visit: { value: 1.5 },
    })
    expect(body.period).toEqual({ from: iso(B).replace('.000Z', 'Z'), to: iso(B + HOUR).replace('.000Z', 'Z'), timezone: 'UTC' })
  })

  it('aggregate with filters on event, session and custom dimensions', async () => {
    const us = await get(`/api/v1/stats/aggregate?${HOUR_RANGE}&filters=${q([['is', 'country', ['US']]])}`)
    expect(us.body.results).toEqual({ visitors: { value: 1 }, pageviews: { value: 2 }, sessions: { value: 1 }, bounce_rate: { value: 0 }, visit_duration: { value: 250 }, views_per_visit: { value: 2 } })
    const pricing = await get(`/api/v1/stats/aggregate?${HOUR_RANGE}&metrics=visitors,pageviews&filters=${q([['contains', 'path', ['pric']]])}`)
    expect(pricing.body.results).toEqual({ visitors: { value: 2 }, pageviews: { value: 3 } })
    // Visit metrics cannot be filtered by a page: by default they come back null.
    const byPath = await get(`/api/v1/stats/aggregate?${HOUR_RANGE}&filters=${q([['is', 'path', ['/']]])}`)
    expect(byPath.body.results.visitors).toEqual({ value: 2 })
    expect(byPath.body.results.sessions).toEqual({ value: null })
    const notFirefox = await get(`/api/v1/stats/aggregate?${HOUR_RANGE}&metrics=visitors,pageviews&filters=${q([['is_not', 'browser', ['Firefox']]])}`)
    expect(notFirefox.body.results).toEqual({ visitors: { value: 1 }, pageviews: { value: 2 } })
    const enteredOnPricing = await get(`/api/v1/stats/aggregate?${HOUR_RANGE}&metrics=visitors,pageviews&filters=${q([['is', 'entry_page', ['/pricing']]])}`)
    expect(enteredOnPricing.body.results).toEqual({ visitors: { value: 1 }, pageviews: { value: 2 } })
    const signedUp = await get(`/api/v1/stats/aggregate?${HOUR_RANGE}&metrics=visitors,events&filters=${q([['is', 'event', ['Signed Up']], ['is', 'property:plan', ['pro']]])}`)
    expect(signedUp.body.results).toEqual({ visitors: { value: 1 }, events: { value: 1 } })
  })

  it('aggregate compared with the previous period of equal length', async () => {
    const body = await settled(`/api/v1/stats/aggregate?${range(B + HOUR, B + 2 * HOUR)}&metrics=visitors,pageviews&compare=previous_period`, (b) => b.results.pageviews.value === 1)
    expect(body.results).toEqual({
      visitors: { value: 1, previous: 3, change: -66.7 },
      pageviews: { value: 1, previous: 6, change: -83.3 },
    })
  })

  it('timeseries by the minute from clicks_1m, gaps filled', async () => {
    const body = await settled(`/api/v1/stats/timeseries?${range(B, B + 10 * MINUTE)}&interval=minute`, (b) => b.results[5]?.pageviews === 2)
    expect(body.interval).toBe('minute')
    expect(body.results).toHaveLength(10)
    expect(body.results.map((r: any) => r.pageviews)).toEqual([0, 2, 1, 0, 0, 2, 0, 0, 0, 0])
    expect(body.results.map((r: any) => r.visitors)).toEqual([0, 2, 1, 0, 0, 2, 0, 0, 0, 0])
    expect(body.results[1].date).toBe(iso(B + MINUTE).replace('.000Z', 'Z'))
  })

  it('timeseries by the hour from raw events with a filter, and with a comparison', async () => {
    const body = await get(`/api/v1/stats/timeseries?${range(B, B + 2 * HOUR)}&interval=hour&metrics=visitors,pageviews,sessions&filters=${q([['is', 'browser', ['Chrome']]])}`)
    expect(body.body.results).toEqual([
      { date: iso(B).replace('.000Z', 'Z'), visitors: 1, pageviews: 2, sessions: 1 },
      { date: iso(B + HOUR).replace('.000Z', 'Z'), visitors: 1, pageviews: 1, sessions: 1 },
    ])
    const compared = await get(`/api/v1/stats/timeseries?${range(B + HOUR, B + 2 * HOUR)}&interval=hour&metrics=pageviews&compare=previous_period`)
    expect(compared.body.results).toEqual([{ date: iso(B + HOUR).replace('.000Z', 'Z'), pageviews: 1 }])
    expect(compared.body.comparison).toEqual([{ date: iso(B).replace('.000Z', 'Z'), pageviews: 6 }])
  })

  it('timeseries by the day in a time zone', async () => {
    const body = await get(`/api/v1/stats/timeseries?${range(B, B + 2 * HOUR)}&interval=day&metrics=pageviews&timezone=Asia/Kolkata`)
    expect(body.status).toBe(200)
    expect(body.body.results.reduce((sum: number, r: any) => sum + r.pageviews, 0)).toBe(7)
    for (const bucket of body.body.results) expect(bucket.date).toMatch(/T00:00:00\+05:30$/)
  })

  it('breakdown by path, sorted by visitors, paged with a cursor', async () => {
    const first = await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=path&limit=2`)
    expect(first.body.results).toEqual([{ value: '/', visitors: 2, pageviews: 2 }, { value: '/pricing', visitors: 2, pageviews: 3 }])
    expect(first.body.next_cursor).toEqual(expect.any(String))
    const second = await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=path&limit=2&cursor=${first.body.next_cursor}`)
    expect(second.body.results).toEqual([{ value: '/blog/post-1', visitors: 1, pageviews: 1 }])
    expect(second.body.next_cursor).toBeNull()
    const otherList = await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=country&limit=2&cursor=${first.body.next_cursor}`)
    expect(otherList.status).toBe(400)
    expect(otherList.body.errors).toEqual([{ field: 'querystring/cursor', reason: 'belongs to another list or sort order' }])
  })

  it('breakdowns by pageviews (clicks_1m), browser, country, event, property and entry page', async () => {
    const pageviews = await settled(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=path&metrics=pageviews`, (b) => b.results[0]?.pageviews === 3)
    expect(pageviews.results).toEqual([{ value: '/pricing', pageviews: 3 }, { value: '/', pageviews: 2 }, { value: '/blog/post-1', pageviews: 1 }])
    expect((await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=browser`)).body.results).toEqual([
      { value: 'Firefox', visitors: 2, pageviews: 4 }, { value: 'Chrome', visitors: 1, pageviews: 2 },
    ])
    expect((await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=country&metrics=pageviews,visitors`)).body.results).toEqual([
      { value: 'DE', pageviews: 2, visitors: 1 }, { value: 'FR', pageviews: 2, visitors: 1 }, { value: 'US', pageviews: 2, visitors: 1 },
    ])
    expect((await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=event&metrics=visitors,events`)).body.results).toEqual([
      { value: 'pageview', visitors: 3, events: 6 }, { value: 'Signed Up', visitors: 1, events: 1 },
    ])
    expect((await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=property:plan&metrics=visitors&filters=${q([['is', 'event', ['Signed Up']]])}`)).body.results).toEqual([
      { value: 'pro', visitors: 1 },
    ])
    expect((await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=entry_page&metrics=visitors,sessions,bounce_rate`)).body.results).toEqual([
      { value: '/', visitors: 2, sessions: 2, bounce_rate: 0 }, { value: '/pricing', visitors: 1, sessions: 2, bounce_rate: 100 },
    ])
    // By pageview: a visitor's later pages have no referrer of their own.
    expect((await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=referrer&metrics=visitors`)).body.results).toEqual([
      { value: '', visitors: 3 }, { value: 'google.com', visitors: 1 }, { value: 'news.ycombinator.com', visitors: 1 },
    ])
    // With visit metrics, by the referrer each session entered with.
    expect((await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=referrer&metrics=sessions,visitors`)).body.results).toEqual([
      { value: '', sessions: 2, visitors: 2 }, { value: 'google.com', sessions: 1, visitors: 1 }, { value: 'news.ycombinator.com', sessions: 1, visitors: 1 },
    ])
  })

  it('realtime: visitors active now and pageviews per minute', async () => {
    const body = await settled('/api/v1/stats/realtime?minutes=10', (b) => b.active.visitors === 4 && b.recent.pageviews === 4)
    expect(body.minutes).toHaveLength(10)
    expect(body.minutes.reduce((sum: number, m: any) => sum + m.pageviews, 0)).toBe(4)
    // Each figure carries its own range: the active window, and the whole minutes range.
    expect(Date.parse(body.active.to) - Date.parse(body.active.from)).toBe(5 * 60_000)
    expect(Date.parse(body.recent.to) - Date.parse(body.recent.from)).toBe(10 * 60_000)
    expect(body.recent.from).toBe(body.minutes[0].date)
    // The first release's names, deprecated, say the same for one more release.
    expect([body.visitors, body.window, body.pageviews]).toEqual([body.active.visitors, { from: body.active.from, to: body.active.to }, body.recent.pageviews])
  })

  it('funnel over ordered steps with windowFunnel', async () => {
    const steps = q([{ path: '/' }, { path: '/pricing' }, { event: 'Signed Up' }])
    const body = (await get(`/api/v1/stats/funnel?${HOUR_RANGE}&steps=${steps}`)).body
    expect(body.steps.map((s: any) => [s.visitors, s.conversion_rate, s.dropoff])).toEqual([[2, 100, 0], [1, 50, 1], [1, 50, 0]])
    const tight = (await get(`/api/v1/stats/funnel?${HOUR_RANGE}&steps=${steps}&window=30`)).body
    expect(tight.steps.map((s: any) => s.visitors)).toEqual([2, 0, 0])
  })
})

describe('logs', () => {
  it('stats: lines by service and level per minute, gaps filled', async () => {
    const body = await settled(`/api/v1/logs/stats?${range(B, B + 5 * MINUTE)}&interval=minute`, (b) => b.series.reduce((s: number, x: any) => s + x.total, 0) === 8)
    expect(body.buckets).toHaveLength(5)
    const byKey = Object.fromEntries(body.series.map((s: any) => [`${s.service}|${s.level}`, s.counts]))
    expect(byKey).toEqual({
      'api|error': [0, 0, 1, 0, 0], 'api|warn': [0, 0, 1, 0, 0],
      'checkout|error': [0, 2, 0, 1, 0], 'checkout|info': [0, 3, 0, 0, 0],
    })
    const errorsOnly = await get(`/api/v1/logs/stats?${range(B, B + 5 * MINUTE)}&level=error&service=checkout`)
    expect(errorsOnly.body.series.map((s: any) => [s.service, s.level, s.total])).toEqual([['checkout', 'error', 3]])
  })

  it('errors/top: fingerprints with counts, first and last seen and a sample, paged', async () => {
    const body = await settled(`/api/v1/logs/errors/top?${HOUR_RANGE}&limit=2`, (b) => b.results[0]?.occurrences === 10 && b.results[1]?.occurrences === 3)
    expect(body.results.map((r: any) => [r.service, r.occurrences, r.sample, r.first_seen, r.last_seen])).toEqual([
      ['worker', 10, 'job 0 crashed', iso(B + 15 * MINUTE), iso(B + 15 * MINUTE + 9_000)],
      ['checkout', 3, 'payment 41 failed', iso(B + MINUTE + 1_000), iso(B + 3 * MINUTE)],
    ])
    const next = await get(`/api/v1/logs/errors/top?${HOUR_RANGE}&limit=2&cursor=${body.next_cursor}`)
    expect(next.body.results.map((r: any) => [r.service, r.occurrences, r.sample])).toEqual([['api', 1, 'db timeout after 30s']])
    expect(next.body.next_cursor).toBeNull()
  })

  it('anomalies: the minute whose error rate left the baseline', async () => {
    const body = await settled(`/api/v1/logs/anomalies?${HOUR_RANGE}`, (b) => b.results.length > 0)
    expect(body.results).toEqual([{
      service: 'worker', minute: iso(B + 15 * MINUTE).replace('.000Z', 'Z'), lines: 20, errors: 10, error_rate: 0.5, baseline: 0, factor: 3, direction: 'up',
    }])
  })
})

describe('notifications', () => {
  it('funnel per channel', async () => {
    const body = await settled(`/api/v1/notifications/funnel?${HOUR_RANGE}&group_by=channel`, (b) => b.results.length === 3 && b.results[0].clicked === 1 && b.results[0].opened === 2)
    expect(body.results).toEqual([
      { channel: 'email', notifications: 3, sent: 3, delivered: 3, opened: 2, clicked: 1, failed: 0, delivery_rate: 1, open_rate: 0.6667, click_rate: 0.5 },
      { channel: 'push', notifications: 1, sent: 0, delivered: 0, opened: 0, clicked: 0, failed: 0, delivery_rate: null, open_rate: null, click_rate: null },
      { channel: 'sms', notifications: 3, sent: 3, delivered: 1, opened: 0, clicked: 0, failed: 2, delivery_rate: 0.3333, open_rate: 0, click_rate: null },
    ])
    const email = await get(`/api/v1/notifications/funnel?${HOUR_RANGE}&channel=email&provider=sendgrid`)
    expect(email.body.results).toEqual([{ notifications: 3, sent: 3, delivered: 3, opened: 2, clicked: 1, failed: 0, delivery_rate: 1, open_rate: 0.6667, click_rate: 0.5 }])
  })

  it('latency quantiles', async () => {
    const body = await get(`/api/v1/notifications/latency?${HOUR_RANGE}`)
    expect(body.body.results).toEqual([{
      sent_to_delivered: { count: 4, p50: 6000, p90: 8000, p95: 8000, p99: 8000, max: 8000 },
      delivered_to_opened: { count: 2, p50: 240000, p90: 240000, p95: 240000, p99: 240000, max: 240000 },
    }])
  })

  it('failures by error code', async () => {
    const body = await get(`/api/v1/notifications/failures?${HOUR_RANGE}&group_by=provider`)
    expect(body.body).toMatchObject({ notifications: 7, failed: 2 })
    expect(body.body.results).toEqual([
      { provider: 'twilio', error_code: '30003', status: 'failed', failures: 1, share: 0.1429 },
      { provider: 'twilio', error_code: '30005', status: 'failed', failures: 1, share: 0.1429 },
    ])
  })
})

describe('tenancy and keys', () => {
  it("a read key of project beta sees beta's data and none of alpha's", async () => {
    const beta = await settled(`/api/v1/stats/aggregate?${HOUR_RANGE}&metrics=visitors,pageviews`, (b) => b.results.pageviews.value === 1, 'test-read-key-b')
    expect(beta.results).toEqual({ visitors: { value: 1 }, pageviews: { value: 1 } })
    const paths = await get(`/api/v1/stats/breakdown?${HOUR_RANGE}&property=path`, 'test-read-key-b')
    expect(paths.body.results).toEqual([{ value: '/beta', visitors: 1, pageviews: 1 }])
    for (const path of [`/api/v1/logs/errors/top?${HOUR_RANGE}`, `/api/v1/logs/anomalies?${HOUR_RANGE}`, `/api/v1/notifications/funnel?${HOUR_RANGE}`]) {
      expect((await get(path, 'test-read-key-b')).body.results, path).toEqual([])
    }
    expect((await get(`/api/v1/logs/stats?${HOUR_RANGE}`, 'test-read-key-b')).body.series).toEqual([])
    expect((await get('/api/v1/stats/realtime', 'test-read-key-b')).body.active.visitors).toBe(0)
  })

  it('a write key, or no key, gets 401 on every read endpoint', async () => {
    const paths = ['aggregate', 'timeseries', 'breakdown?property=path', 'realtime', `funnel?steps=${q([{ path: '/' }, { path: '/x' }])}`]
      .map((p) => `/api/v1/stats/${p}`)
      .concat(['/api/v1/logs/stats', '/api/v1/logs/errors/top', '/api/v1/logs/anomalies', '/api/v1/notifications/funnel', '/api/v1/notifications/latency', '/api/v1/notifications/failures'])
    for (const path of paths) {
      const withWriteKey = await get(path, TEST_WRITE_KEY)
      expect(withWriteKey.status, path).toBe(401)
      expect(withWriteKey.type, path).toContain('application/problem+json')
      expect(withWriteKey.body.code).toBe('API_UNAUTHORIZED')
      expect((await get(path, '')).status, path).toBe(401)
    }
  })
})

describe('bad input', () => {
  it.each([
    ['/api/v1/stats/aggregate?period=3w', 'querystring/period'],
    ['/api/v1/stats/aggregate?timezone=Mars/Olympus', 'querystring/timezone'],
    ['/api/v1/stats/aggregate?from=2026-13-01&to=2026-12-01', 'querystring/from'],
    ['/api/v1/stats/aggregate?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'querystring/to'],
    ['/api/v1/stats/aggregate?metrics=visitors,bogus', 'querystring/metrics'],
    [`/api/v1/stats/aggregate?filters=${q([['is', 'password', ['x']]])}`, 'querystring/filters/0/1'],
    [`/api/v1/stats/aggregate?filters=${q([['matches', 'path', ['x']]])}`, 'querystring/filters/0/0'],
    ['/api/v1/stats/aggregate?filters=not-json', 'querystring/filters'],
    [`/api/v1/stats/aggregate?metrics=bounce_rate&filters=${q([['is', 'path', ['/']]])}`, 'querystring/filters/0/1'],
    ['/api/v1/stats/timeseries?period=30d&interval=minute', 'querystring/interval'],
    ['/api/v1/stats/breakdown', 'querystring/property'],
    ['/api/v1/stats/breakdown?property=path;DROP', 'querystring/property'],
    ['/api/v1/stats/breakdown?property=path&limit=5000', 'querystring/limit'],
    ['/api/v1/stats/breakdown?property=path&cursor=garbage', 'querystring/cursor'],
    ['/api/v1/stats/breakdown?property=property:plan&metrics=bounce_rate', 'querystring/metrics'],
    [`/api/v1/stats/funnel?steps=${q([{ path: '/' }])}`, 'querystring/steps'],
    [`/api/v1/stats/funnel?steps=${q([{ path: '/' }, { sql: 'x' }])}`, 'querystring/steps/1'],
    ['/api/v1/stats/realtime?minutes=500', 'querystring/minutes'],
    ['/api/v1/logs/stats?level=loud', 'querystring/level'],
    ['/api/v1/notifications/funnel?group_by=user_id', 'querystring/group_by'],
    ['/api/v1/stats/aggregate?project=beta', 'querystring/project'],
  ])('%s → 400 naming %s', async (path, field) => {
    const response = await get(path)
    expect(response.status, JSON.stringify(response.body)).toBe(400)
    expect(response.type).toContain('application/problem+json')
    expect(response.body.code).toBe('API_INVALID_REQUEST')
    expect(response.body.errors.map((e: any) => e.field)).toContain(field)
  })
})

describe('OpenAPI', () => {
  it('/openapi.json is an OpenAPI 3.1 document listing every route, and /docs serves the UI', async () => {
    const response = await fetch(`${eddy.url}/openapi.json`)
    expect(response.status).toBe(200)
    const document = await response.json() as any
    expect(document.openapi).toBe('3.1.0')
    expect(Object.keys(document.paths).sort()).toEqual([
      '/api/v1/events/count', '/api/v1/logs/anomalies', '/api/v1/logs/context', '/api/v1/logs/errors/top', '/api/v1/logs/search', '/api/v1/logs/stats',
      '/api/v1/notifications/failures', '/api/v1/notifications/funnel', '/api/v1/notifications/latency', '/api/v1/notifications/search', '/api/v1/pipeline/health',
      '/api/v1/pipeline/reprocess', '/api/v1/pipeline/reprocess/{id}',
      '/api/v1/stats/aggregate', '/api/v1/stats/breakdown', '/api/v1/stats/funnel', '/api/v1/stats/realtime', '/api/v1/stats/timeseries',
      '/healthz', '/readyz',
    ])
    // Structure: every operation documents its 200 and problem responses, every parameter is a typed query parameter.
    for (const [path, operations] of Object.entries<any>(document.paths)) {
      for (const [method, operation] of Object.entries<any>(operations)) {
        // Starting a reprocess answers 202: it runs on, followed at its Location.
        expect(operation.responses?.[method === 'post' ? '202' : '200'], `${method} ${path}`).toBeDefined()
        if (!path.startsWith('/api/v1/stats') && !path.startsWith('/api/v1/logs') && !path.startsWith('/api/v1/notifications')) continue
        // The context of a line answers 404 when there is no such line.
        const notFound = path === '/api/v1/logs/context' ? ['404'] : []
        expect(Object.keys(operation.responses).sort(), path).toEqual(['200', '400', '401', ...notFound, '422', '429', '431', '503'])
        expect(operation.security, path).toEqual([{ readKey: [] }])
        for (const parameter of operation.parameters ?? []) {
          expect(parameter, path).toMatchObject({ in: 'query', name: expect.any(String), schema: expect.any(Object) })
        }
      }
    }
    const aggregate = document.paths['/api/v1/stats/aggregate'].get
    expect(aggregate.parameters.map((p: any) => p.name).sort()).toEqual(['compare', 'filters', 'from', 'metrics', 'period', 'timezone', 'to'])
    expect(document.components.securitySchemes.readKey).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect((await fetch(`${eddy.url}/docs/`)).status).toBe(200)
  })
})
