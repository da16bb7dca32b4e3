/**
 * The RateLimiter contract, written against port.ts only. Two limiters share the store (the Redis
 * suite gives two connections; the memory suite the same instance twice). Time either is virtual
 * (advance moves the clock) or real (advance sleeps): assertions take elapsed time from now(), so
 * a slow machine can only make buckets fuller, never make a test fail.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RateLimitUnavailableError, type RateLimiter, type Tiers } from './port.ts'

export interface RateLimitersUnderTest {
  readonly limiters: readonly [RateLimiter, RateLimiter]
  advance(ms: number): Promise<void>
  now(): number
  cleanup(): Promise<void>
}

export const CONTRACT_TIERS = {
  // 10 s per token: nothing refills during a test.
  slow: { capacity: 5, refillPerSecond: 0.1 },
  // 50 ms per token.
  fast: { capacity: 4, refillPerSecond: 20 },
} satisfies Tiers

export function rateLimiterContract(name: string, make: (tiers: Tiers) => Promise<RateLimitersUnderTest>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let subject: RateLimitersUnderTest
    let a: RateLimiter
    let b: RateLimiter
    let key: string

    beforeEach(async () => {
      subject = await make(CONTRACT_TIERS)
      ;[a, b] = subject.limiters
      key = `key-${Math.random().toString(36).slice(2)}`
    })
    afterEach(() => subject.cleanup())

    it('allows a burst up to the capacity, then refuses', async () => {
      for (let taken = 1; taken <= 5; taken++) {
        expect(await a.take(key, 'slow')).toMatchObject({ allowed: true, limit: 5, remaining: 5 - taken, retryAfterMs: 0 })
      }
      const refused = await a.take(key, 'slow')
      expect(refused).toMatchObject({ allowed: false, limit: 5, remaining: 0 })
    })

    it('says how long until the next token (retry-after) and until the bucket is full (reset)', async () => {
      await a.take(key, 'slow', 2)
      const partial = await a.take(key, 'slow', 0)
      expect(partial.resetMs).toBeGreaterThan(19_000)
      expect(partial.resetMs).toBeLessThanOrEqual(20_000)
      await a.take(key, 'slow', 3)
      const refused = await a.take(key, 'slow')
      expect(refused.allowed).toBe(false)
      expect(refused.retryAfterMs).toBeGreaterThan(9_000)
      expect(refused.retryAfterMs).toBeLessThanOrEqual(10_000)
      expect(refused.resetMs).toBeGreaterThan(49_000)
      expect(refused.resetMs).toBeLessThanOrEqual(50_000)
    })

    it('succeeds again once retry-after has passed', async () => {
      await a.take(key, 'fast', 4)
      const refused = await a.take(key, 'fast')
      expect(refused.allowed).toBe(false)
      expect(refused.retryAfterMs).toBeGreaterThan(0)
      expect(refused.retryAfterMs).toBeLessThanOrEqual(50)
      await subject.advance(refused.retryAfterMs + 2)
      expect((await a.take(key, 'fast')).allowed).toBe(true)
    })

    it('refills at the configured rate and never above the capacity', async () => {
      const drainedAt = subject.now()
      await a.take(key, 'fast', 4)
      await subject.advance(110)
      const peek = await a.take(key, 'fast', 0)
      const elapsed = subject.now() - drainedAt
      expect(peek.remaining).toBeGreaterThanOrEqual(2)
      expect(peek.remaining).toBeLessThanOrEqual(Math.min(4, Math.floor(elapsed / 50) + 1))
      await subject.advance(250)
      expect((await a.take(key, 'fast', 0)).remaining).toBe(4)
    })

    it('takes nothing when it refuses', async () => {
      await a.take(key, 'slow', 4)
      expect((await a.take(key, 'slow', 2)).allowed).toBe(false)
      expect(await a.take(key, 'slow', 1)).toMatchObject({ allowed: true, remaining: 0 })
    })

    it('charges a cost above the capacity as the capacity', async () => {
      expect(await a.take(key, 'slow', 50)).toMatchObject({ allowed: true, remaining: 0 })
      expect((await a.take(key, 'slow', 50)).allowed).toBe(false)
    })

    it('keeps keys and tiers apart', async () => {
      await a.take(key, 'slow', 5)
      expect((await a.take(key, 'slow')).allowed).toBe(false)
      expect(await a.take(`${key}-other`, 'slow')).toMatchObject({ allowed: true, remaining: 4 })
      expect(await a.take(key, 'fast')).toMatchObject({ allowed: true, remaining: 3 })
    })

    it('shares one bucket between clients', async () => {
      const decisions = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).take(key, 'slow')))
      expect(decisions.filter((decision) => decision.allowed)).toHaveLength(5)
      expect((await b.take(key, 'slow', 0)).remaining).toBe(0)
    })

    it('rejects an unknown tier as a programming error, not as the store being down', async () => {
      const error = await a.take(key, 'nope').catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(Error)
      expect(error).not.toBeInstanceOf(RateLimitUnavailableError)
    })
  })
}
