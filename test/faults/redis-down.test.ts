import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { generateTraffic } from '../../traffic/generator.ts'
import { rateLimitKey } from '../../core/http/rate-limit.ts'
import { eventIdsOf, reportFaultCounts } from '../support/fault-report.ts'
import { eventually, startTestPipeline, TEST_OPERATOR_KEY, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'
import { startPrivateServer, type PrivateServer } from '../support/private-server.ts'
import { describeWithService } from '../support/services.ts'

/**
 * Redis killed -9 under load, with all of Eddy pointed at it (REDIS_URL): what docs/redis.md
 * promises, end to end. While it is down ingest fails open (202, no RateLimit headers), the api
 * fails local (answers, with per-instance buckets), the cache computes directly, the live counters
 * are missing from the pipeline health rather than shown as 0. Once it is back, without a restart
 * of Eddy, the limits, the cache and the counters are in Redis again. Core's redis-down.test.ts
 * checks the same per adapter (and a frozen Redis); this checks the wiring and that no event is
 * lost on the way. A private redis-server (infra/redis), so the shared REDIS_URL is never touched;
 * the suite runs wherever the Redis infrastructure is, i.e. wherever REDIS_URL is set.
 */
const EVENTS = 6_000
const PER_REQUEST = 100
/** Both tiers hold 1,000 tokens; slow refills keep a seeded bucket far from full while the test reads it. */
const BURST = 1_000
const API_PER_SECOND = 10
const INGEST_PER_SECOND = 50
/** Far above the command timeouts (250-500 ms): nothing may wait for Redis to come back. */
const ANSWERS_WITHIN_MS = 3_000
const PREFIX = 'eddy:'

describeWithService('redis', 'REDIS_URL', 'fault: Redis killed -9 under load, then started again', () => {
  let redis: PrivateServer
  let eddy: TestPipeline
  beforeAll(async () => {
    redis = await startPrivateServer('redis')
    eddy = await startTestPipeline({
      REDIS_URL: redis.url,
      // The suites' default turns api limits and the cache off; here they are what is tested.
      EDDY_RATE_LIMIT_INGEST_BURST: String(BURST),
      EDDY_RATE_LIMIT_API_BURST: String(BURST),
      EDDY_RATE_LIMIT_API_PER_SECOND: String(API_PER_SECOND),
      EDDY_RATE_LIMIT_INGEST_PER_SECOND: String(INGEST_PER_SECOND),
      EDDY_CACHE_OPEN_TTL_MS: '60000',
    })
  }, 120_000)
  afterAll(async () => {
    await eddy?.stop()
    await redis?.dispose()
  }, 120_000)

  it('ingest fails open, the api answers with local limits, nothing is lost, and limits, cache and live counters return to Redis', async () => {
    const events = generateTraffic({ seed: 29, events: EVENTS, startMs: Date.now() - 3_600_000, spanMs: 3_600_000, mix: { click: 1, log: 0, notification: 0 } })
    const batches: Record<string, unknown>[][] = []
    for (let start = 0; start < events.length; start += PER_REQUEST) batches.push(events.slice(start, start + PER_REQUEST).map((e) => e.payload))
    const acknowledged: Record<string, unknown>[] = []
    let sent = 0
    let slowest = 0
    const ingest = async () => {
      const batch = batches[sent / PER_REQUEST]
      if (!batch) throw new Error('the test ran out of batches')
      sent += batch.length
      const started = performance.now()
      const response = await fetch(`${eddy.url}/v1/batch`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) })
      slowest = Math.max(slowest, performance.now() - started)
      expect(response.status, await response.text()).toBe(202)
      acknowledged.push(...batch)
      return { limit: response.headers.get('ratelimit-limit'), remaining: Number(response.headers.get('ratelimit-remaining')) }
    }
    const api = async (path: string, key = TEST_READ_KEY) => {
      const started = performance.now()
      const response = await fetch(`${eddy.url}${path}`, { headers: { authorization: `Bearer ${key}` } })
      slowest = Math.max(slowest, performance.now() - started)
      const body = await response.json() as Record<string, unknown>
      return { status: response.status, limit: response.headers.get('ratelimit-limit'), remaining: Number(response.headers.get('ratelimit-remaining')), cache: response.headers.get('x-eddy-cache'), body }
    }
    const third = Math.floor(batches.length / 3)

    // Redis up: limits and cache answered from it.
    for (let request = 0; request < third; request++) expect((await ingest()).limit).toBe(String(BURST))
    expect((await api('/api/v1/stats/aggregate?period=24h')).cache).toBe('miss')
    expect((await api('/api/v1/stats/aggregate?period=24h')).cache).toBe('hit')

    await redis.kill()
    const down: Record<string, unknown> = {}
    slowest = 0
    // Ingest fails open: every request is acknowledged, without RateLimit headers.
    for (let request = 0; request < third; request++) expect((await ingest()).limit).toBeNull()
    // The api fails local: it answers, with this instance's own buckets. Requests at once (distinct
    // questions, so none shares another's answer), charged faster than the bucket refills (10
    // tokens/s): one after the other, a slow query lets a full bucket refill to the brim, and
    // every answer says 999 left.
    const metrics = ['visitors', 'pageviews', 'sessions', 'bounce_rate', 'visit_duration']
    const atOnce = await Promise.all(metrics.map((metric) => api(`/api/v1/stats/aggregate?period=24h&metrics=${metric}`)))
    expect(atOnce.map((answer) => [answer.status, answer.limit])).toEqual(atOnce.map(() => [200, String(BURST)]))
    expect(Math.min(...atOnce.map((answer) => answer.remaining))).toBeLessThan(BURST - 1)
    const first = await api('/api/v1/stats/aggregate?period=24h')
    const second = await api('/api/v1/stats/aggregate?period=24h')
    expect([first.status, second.status]).toEqual([200, 200])
    expect([first.limit, second.limit]).toEqual([String(BURST), String(BURST)])
    // The cache computes directly: the same question twice is two misses.
    expect([first.cache, second.cache]).toEqual(['miss', 'miss'])
    // The live counters are unknown, so the ingest rate is left out, not shown as 0.
    const healthWhileDown = await api('/api/v1/pipeline/health', TEST_OPERATOR_KEY)
    expect(healthWhileDown.status).toBe(200)
    expect(healthWhileDown.body.ingestEventsPerSecond).toBeUndefined()
    down.slowestAnswerWhileDownMs = Math.round(slowest)
    expect(slowest).toBeLessThan(ANSWERS_WITHIN_MS)

    await redis.start()
    const restarted = performance.now()
    const inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 })
    try {
      // Eddy's clients reconnect by themselves (backoff capped at 2 s), each under its name.
      const names = ['eddy-rate-limit', 'eddy-cache', 'eddy-live', 'eddy-live-subscriber']
      const clients = await eventually(async () => String(await inspector.client('LIST')), (list) => names.every((name) => list.includes(`name=${name} `)), 15_000)
      for (const name of names) expect(clients).toContain(`name=${name} `)
      const back = await eventually(ingest, (answer) => answer.limit !== null, 5_000)
      expect(back.limit).toBe(String(BURST))
      down.limitsBackAfterMs = Math.round(performance.now() - restarted)

      // The headers come from Redis: a bucket state written into Redis is what the next request
      // is charged against. The script stores the bucket after the charge, so the header's
      // remaining is the stored tokens, and those are the seed refilled for the time between.
      const chargedFromSeed = async (key: string, perMs: number, charge: () => Promise<{ remaining: number }>) => {
        const [seconds, micros] = await inspector.time()
        const seededAt = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000)
        // HSET keeps the key's TTL: the charge before left a nearly full bucket to expire within
        // milliseconds, and the seed would vanish with it before the charge reads it.
        await inspector.multi().hset(key, { tokens: '123.25', ts: String(seededAt) }).persist(key).exec()
        const { remaining } = await charge()
        const bucket = await inspector.hgetall(key)
        expect(Number(bucket.tokens)).toBeCloseTo(Math.min(BURST, 123.25 + (Number(bucket.ts) - seededAt) * perMs) - 1, 6)
        expect(remaining).toBe(Math.floor(Number(bucket.tokens)))
        // A fresh bucket (Redis not asked) would have ~999 left.
        expect(remaining).toBeLessThan(500)
      }
      await chargedFromSeed(`${PREFIX}rl:ingest:${TEST_WRITE_KEY}`, INGEST_PER_SECOND / 1_000, ingest)
      await chargedFromSeed(`${PREFIX}rl:api:${rateLimitKey(TEST_READ_KEY)}`, API_PER_SECOND / 1_000, () => api('/api/v1/stats/aggregate?period=24h&metrics=pageviews'))
      // The cache works again: a miss stores the answer in Redis, the same question is a hit.
      expect((await api('/api/v1/stats/aggregate?period=24h&metrics=visitors')).cache).toBe('miss')
      expect((await api('/api/v1/stats/aggregate?period=24h&metrics=visitors')).cache).toBe('hit')
      expect((await inspector.keys(`${PREFIX}cache:*`)).length).toBeGreaterThan(0)
      // The live counters count again: the pipeline health has its ingest rate back.
      const health = await eventually(async () => {
        await ingest()
        return (await api('/api/v1/pipeline/health', TEST_OPERATOR_KEY)).body
      }, (body) => typeof body.ingestEventsPerSecond === 'number' && body.ingestEventsPerSecond > 0, 15_000)
      expect(health.ingestEventsPerSecond).toBeGreaterThan(0)
    } finally {
      inspector.disconnect()
    }

    while (sent < events.length) await ingest()
    const lag = await eventually(async () => (await api('/api/v1/pipeline/health', TEST_OPERATOR_KEY)).body.lag, (value) => value === 0, 60_000)
    expect(lag).toBe(0)
    const counts = await reportFaultCounts(await eddy.runtime.clickhouse(), 'redis-down', {
      sent,
      streams: [{ table: 'eddy.events_click', where: "project_id = 'alpha'", acknowledged: eventIdsOf('click', 'alpha', acknowledged) }],
      extra: down,
    })
    expect(counts).toMatchObject({ acknowledged: new Set(events.map((e) => e.payload.messageId)).size, lost: 0, duplicates: 0, unacknowledged: 0 })
  }, 180_000)
})
