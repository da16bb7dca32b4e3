import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryRateLimiter } from '../rate-limit/memory.ts'
import { RateLimitUnavailableError, type RateLimiter, type Tiers } from '../rate-limit/port.ts'
import { defineProblems } from './problem.ts'
import { installRateLimit, rateLimitKey, type RateLimitFailurePolicy, type RateLimitHookOptions } from './rate-limit.ts'

const problems = defineProblems({
  RATE_LIMITED: { status: 429, title: 'Too many requests', meaning: 'test' },
  RATE_LIMIT_UNAVAILABLE: { status: 503, title: 'Rate limits unavailable', meaning: 'test' },
})
const tiers: Tiers = { ingest: { capacity: 3, refillPerSecond: 0.5 } }

/** A limiter whose store is down: every take fails the way the Redis adapter's does. */
function downLimiter(): RateLimiter {
  return { tiers, take: async () => Promise.reject(new RateLimitUnavailableError(new Error('connect ECONNREFUSED'))), close: async () => undefined }
}

describe('rate limit hook', () => {
  let app: FastifyInstance
  afterEach(() => app.close())

  function build(limiter: RateLimiter, onUnavailable: RateLimitFailurePolicy = 'open', extra: Partial<RateLimitHookOptions> & { stage?: 'onRequest' | 'preHandler' } = {}) {
    app = Fastify()
    const hook = installRateLimit(app, {
      limiter,
      onUnavailable,
      problems: { rateLimited: problems.RATE_LIMITED, unavailable: problems.RATE_LIMIT_UNAVAILABLE },
      target: (request) => {
        const key = request.headers['x-key']
        return typeof key === 'string' ? { key, tier: 'ingest' } : undefined
      },
      ...extra,
    })
    app.get('/hit', async () => ({ ok: true }))
    app.post('/batch', async () => ({ ok: true }))
    return hook
  }

  it('sets the RateLimit headers on allowed requests', async () => {
    let now = 0
    build(createMemoryRateLimiter({ tiers, clock: () => now }))
    const response = await app.inject({ url: '/hit', headers: { 'x-key': 'wk_1' } })
    expect(response.statusCode).toBe(200)
    expect(response.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '2', 'ratelimit-reset': '2', 'ratelimit-policy': '3;w=6' })
    now += 500
    const later = await app.inject({ url: '/hit', headers: { 'x-key': 'wk_1' } })
    expect(later.headers).toMatchObject({ 'ratelimit-remaining': '1', 'ratelimit-reset': '4' })
  })

  it('answers 429 problem+json with Retry-After once the bucket is empty', async () => {
    const hook = build(createMemoryRateLimiter({ tiers, clock: () => 0 }))
    for (let i = 0; i < 3; i++) expect((await app.inject({ url: '/hit', headers: { 'x-key': 'wk_1' } })).statusCode).toBe(200)
    const refused = await app.inject({ url: '/hit', headers: { 'x-key': 'wk_1' } })
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(refused.headers['retry-after']).toBe('2')
    expect(refused.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '6' })
    expect(refused.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED', type: 'https://eddy.dev/problems/rate-limited' })
    expect((await app.inject({ url: '/hit', headers: { 'x-key': 'wk_2' } })).statusCode).toBe(200)
    expect(hook.stats()).toEqual({ limited: 1, unavailable: 0 })
  })

  it('leaves requests without a target alone', async () => {
    build(createMemoryRateLimiter({ tiers }))
    const response = await app.inject({ url: '/hit' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['ratelimit-limit']).toBeUndefined()
  })

  it('can charge a key found in the body (preHandler)', async () => {
    build(createMemoryRateLimiter({ tiers, clock: () => 0 }), 'open', {
      stage: 'preHandler',
      target: (request) => ({ key: (request.body as { writeKey: string }).writeKey, tier: 'ingest', cost: 3 }),
    })
    const first = await app.inject({ method: 'POST', url: '/batch', payload: { writeKey: 'wk_body' } })
    expect(first.headers['ratelimit-remaining']).toBe('0')
    expect((await app.inject({ method: 'POST', url: '/batch', payload: { writeKey: 'wk_body' } })).statusCode).toBe(429)
  })

  describe('while the store is unreachable', () => {
    it("'open' lets requests through without RateLimit headers", async () => {
      const hook = build(downLimiter(), 'open')
      const response = await app.inject({ url: '/hit', headers: { 'x-key': 'wk_1' } })
      expect(response.statusCode).toBe(200)
      expect(response.headers['ratelimit-limit']).toBeUndefined()
      expect(hook.stats()).toEqual({ limited: 0, unavailable: 1 })
    })

    it("'closed' answers 503 problem+json with Retry-After", async () => {
      build(downLimiter(), 'closed', { unavailableRetryAfterSeconds: 5 })
      const response = await app.inject({ url: '/hit', headers: { 'x-key': 'wk_1' } })
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('5')
      expect(response.json()).toMatchObject({ code: 'RATE_LIMIT_UNAVAILABLE', status: 503 })
    })

    it("'local' limits with this process's buckets and the same tiers", async () => {
      const hook = build(downLimiter(), 'local')
      const statuses: number[] = []
      for (let i = 0; i < 4; i++) statuses.push((await app.inject({ url: '/hit', headers: { 'x-key': 'wk_1' } })).statusCode)
      expect(statuses).toEqual([200, 200, 200, 429])
      expect(hook.stats()).toEqual({ limited: 1, unavailable: 4 })
    })
  })

  it('turns a secret into a stable key that does not contain it', () => {
    expect(rateLimitKey('rk_secret')).toBe(rateLimitKey('rk_secret'))
    expect(rateLimitKey('rk_secret')).not.toContain('secret')
    expect(rateLimitKey('rk_secret')).not.toBe(rateLimitKey('rk_other'))
  })
})
