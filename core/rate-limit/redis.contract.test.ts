import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { describeWithService } from '../../test/support/services.ts'
import { inspector, uniquePrefix } from '../redis/test-support.ts'
import { rateLimiterContract } from './contract.ts'
import { createRedisRateLimiter } from './redis.ts'

describeWithService('redis', 'REDIS_URL', 'Redis rate limiter', (url) => {
  rateLimiterContract('redis', async (tiers) => {
    const prefix = uniquePrefix()
    // Two connections, as two api instances would have.
    const limiters = [createRedisRateLimiter(url, { tiers, prefix, connection: {} }), createRedisRateLimiter(url, { tiers, prefix, connection: {} })] as const
    await Promise.all(limiters.map((limiter) => limiter.ready(10_000)))
    return {
      limiters,
      advance: (ms) => sleep(ms),
      now: () => Date.now(),
      cleanup: async () => void (await Promise.all(limiters.map((limiter) => limiter.close()))),
    }
  })

  const raw = inspector(url)
  afterAll(() => raw.quit())
  let prefix: string
  beforeAll(() => void (prefix = uniquePrefix()))

  it('stores a bucket under <prefix>rl:<tier>:<key> and lets it expire once it would be full', async () => {
    const limiter = createRedisRateLimiter(url, { tiers: { t: { capacity: 10, refillPerSecond: 1 } }, prefix, connection: {} })
    try {
      await limiter.ready(10_000)
      const decision = await limiter.take('writer', 't', 3)
      const ttl = await raw.pttl(`${prefix}rl:t:writer`)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(decision.resetMs)
      expect(decision.resetMs).toBeLessThanOrEqual(3_000)
      expect(await raw.hget(`${prefix}rl:t:writer`, 'tokens')).toBe('7')
    } finally {
      await limiter.close()
    }
  })

  it('refills by Redis time, so an instance whose clock runs an hour ahead gains nothing', async () => {
    const limiter = createRedisRateLimiter(url, { tiers: { t: { capacity: 2, refillPerSecond: 0.01 } }, prefix, connection: {} })
    try {
      await limiter.ready(10_000)
      await limiter.take('skewed', 't', 2)
      const realNow = Date.now()
      vi.spyOn(Date, 'now').mockReturnValue(realNow + 3_600_000)
      expect(await limiter.take('skewed', 't')).toMatchObject({ allowed: false, remaining: 0 })
    } finally {
      vi.restoreAllMocks()
      await limiter.close()
    }
  })
})
