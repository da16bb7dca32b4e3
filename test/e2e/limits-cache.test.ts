import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeWithService } from '../support/services.ts'
import { startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`
const page = { type: 'page', anonymousId: 'a1', properties: { url: 'https://shop.example/' } }

async function track(url: string, headers: Record<string, string>, body: unknown = page) {
  return fetch(`${url}/v1/page`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}
const read = (url: string, path: string, key = TEST_READ_KEY) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } })

/** The limits and the cache as `eddy start` wires them, on the embedded (in-memory) adapters. */
describe('rate limits and query cache, wired', () => {
  let eddy: TestPipeline
  beforeAll(async () => {
    eddy = await startTestPipeline({
      EDDY_RATE_LIMIT_INGEST_BURST: '2', EDDY_RATE_LIMIT_INGEST_PER_SECOND: '1',
      EDDY_RATE_LIMIT_API_BURST: '3', EDDY_RATE_LIMIT_API_PER_SECOND: '1',
      EDDY_CACHE_OPEN_TTL_MS: '5000', EDDY_CACHE_CLOSED_TTL_MS: '60000',
    })
  })
  afterAll(async () => eddy?.stop())

  it('limits ingest per write key, wherever the key is, with 429, Retry-After and RateLimit headers', async () => {
    const first = await track(eddy.url, { authorization: basic(TEST_WRITE_KEY) })
    expect(first.status).toBe(202)
    expect(first.headers.get('ratelimit-limit')).toBe('2')
    expect(first.headers.get('ratelimit-remaining')).toBe('1')
    expect(first.headers.get('ratelimit-policy')).toBe('2;w=2')
    // Segment's key in the body is charged to the same bucket.
    expect((await track(eddy.url, {}, { ...page, writeKey: TEST_WRITE_KEY })).status).toBe(202)
    const refused = await track(eddy.url, { authorization: basic(TEST_WRITE_KEY) })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(await refused.json()).toMatchObject({ code: 'INGEST_RATE_LIMITED', status: 429 })
    // Another project's key has its own bucket; an unknown key is not charged but refused by auth.
    expect((await track(eddy.url, { authorization: basic('test-write-key-b') })).status).toBe(202)
    const unknown = await track(eddy.url, { authorization: basic('no-such-write-key') })
    expect(unknown.status).toBe(401)
    expect(unknown.headers.get('ratelimit-limit')).toBeNull()
  })

  it('caches realtime and stats per project and query, and limits the api per read key', async () => {
    const miss = await read(eddy.url, '/api/v1/stats/realtime?minutes=5')
    expect(miss.status).toBe(200)
    expect(miss.headers.get('x-eddy-cache')).toBe('miss')
    expect(miss.headers.get('ratelimit-limit')).toBe('3')
    const hit = await read(eddy.url, '/api/v1/stats/realtime?minutes=5')
    expect(hit.headers.get('x-eddy-cache')).toBe('hit')
    expect(await hit.json()).toEqual(await miss.json())
    // The other project asks the same question and gets its own answer.
    const beta = await read(eddy.url, '/api/v1/stats/realtime?minutes=5', 'test-read-key-b')
    expect(beta.headers.get('x-eddy-cache')).toBe('miss')

    expect((await read(eddy.url, '/api/v1/stats/aggregate?period=7d')).status).toBe(200)
    const refused = await read(eddy.url, '/api/v1/stats/aggregate?period=7d')
    expect(refused.status).toBe(429)
    expect(await refused.json()).toMatchObject({ code: 'API_RATE_LIMITED' })
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
  })

  it('keeps /readyz free of Redis', async () => {
    const ready = await fetch(`${eddy.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(Object.keys((await ready.json()).checks).sort()).toEqual(['bus', 'clickhouse'])
  })
})

describe('with Redis unreachable', () => {
  let eddy: TestPipeline
  beforeAll(async () => {
    // Nothing listens on port 1: every Redis command fails at once.
    eddy = await startTestPipeline({ REDIS_URL: 'redis://127.0.0.1:1', EDDY_RATE_LIMIT_API_BURST: '2', EDDY_RATE_LIMIT_API_PER_SECOND: '1', EDDY_CACHE_OPEN_TTL_MS: '5000' })
  })
  afterAll(async () => eddy?.stop())

  it('ingest fails open, the api limits per instance and computes uncached, and the process is ready', async () => {
    const accepted = await track(eddy.url, { authorization: basic(TEST_WRITE_KEY) })
    expect(accepted.status).toBe(202)
    expect(accepted.headers.get('ratelimit-limit')).toBeNull()
    const statuses = []
    for (let index = 0; index < 3; index++) {
      const response = await read(eddy.url, '/api/v1/stats/realtime')
      statuses.push(response.status)
      if (response.status === 200) expect(response.headers.get('x-eddy-cache')).toBe('miss')
    }
    expect(statuses).toEqual([200, 200, 429])
    expect((await fetch(`${eddy.url}/readyz`)).status).toBe(200)
  })
})

describeWithService('redis', 'REDIS_URL', 'rate limits and query cache on Redis', (redisUrl) => {
  let eddy: TestPipeline
  beforeAll(async () => {
    eddy = await startTestPipeline({
      REDIS_URL: redisUrl, EDDY_TOPIC_PREFIX: `limits-${process.pid}-${Date.now()}`,
      EDDY_RATE_LIMIT_INGEST_BURST: '2', EDDY_RATE_LIMIT_INGEST_PER_SECOND: '1', EDDY_CACHE_OPEN_TTL_MS: '5000',
    })
  })
  afterAll(async () => eddy?.stop())

  it('shares buckets and cached answers through Redis', async () => {
    const statuses = []
    for (let index = 0; index < 3; index++) statuses.push((await track(eddy.url, { authorization: basic(TEST_WRITE_KEY) })).status)
    expect(statuses).toEqual([202, 202, 429])
    expect((await read(eddy.url, '/api/v1/stats/realtime?minutes=7')).headers.get('x-eddy-cache')).toBe('miss')
    expect((await read(eddy.url, '/api/v1/stats/realtime?minutes=7')).headers.get('x-eddy-cache')).toBe('hit')
  })
})
