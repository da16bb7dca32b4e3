import { describe, expect, it } from 'vitest'
import { createMemoryRateLimiter } from '../rate-limit/memory.ts'
import { RateLimitUnavailableError, type RateLimiter } from '../rate-limit/port.ts'
import { describeWithService } from '../../test/support/services.ts'
import { uniquePrefix } from '../redis/test-support.ts'
import { createRedisRateLimiter } from '../rate-limit/redis.ts'
import { addressBucket, AUTH_FAILURE_TIER, AuthFailureThrottle } from './auth-throttle.ts'

const TIERS = { [AUTH_FAILURE_TIER]: { capacity: 3, refillPerSecond: 1 / 6 } }

function clock(start = 1_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

describe('addressBucket', () => {
  it('charges IPv4 per address, IPv4 on a dual-stack socket as IPv4, IPv6 per /64', () => {
    expect(addressBucket('203.0.113.5')).toBe('203.0.113.5')
    expect(addressBucket('::ffff:203.0.113.5')).toBe('203.0.113.5')
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(addressBucket('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64')
    expect(addressBucket('2001:db8:1:3::1')).not.toBe(addressBucket('2001:db8:1:2::1'))
  })
})

describe('AuthFailureThrottle', () => {
  it('lets the burst of failures through, then refuses the address until a token is back, one try at a time', async () => {
    const time = clock()
    const throttle = new AuthFailureThrottle({ limiter: createMemoryRateLimiter({ tiers: TIERS, clock: time.now }), now: time.now })
    for (let failure = 0; failure < 3; failure++) expect(await throttle.failed('198.51.100.7')).toBe(0)
    expect(throttle.refusedForMs('198.51.100.7')).toBe(0)
    const refusedMs = await throttle.failed('198.51.100.7')
    expect(refusedMs).toBe(6_000)
    expect(throttle.refusedForMs('198.51.100.7')).toBe(6_000)
    // Another address, and another /64, are not touched.
    expect(throttle.refusedForMs('198.51.100.8')).toBe(0)
    time.advance(5_999)
    expect(throttle.refusedForMs('198.51.100.7')).toBe(1)
    time.advance(1)
    expect(throttle.refusedForMs('198.51.100.7')).toBe(0)
    // One token came back: one more failure passes as a 401, the next is refused again.
    expect(await throttle.failed('198.51.100.7')).toBe(0)
    expect(await throttle.failed('198.51.100.7')).toBeGreaterThan(0)
  })

  it('keeps counting in memory while the shared store is down', async () => {
    const down: RateLimiter = { tiers: TIERS, take: async () => { throw new RateLimitUnavailableError(new Error('connection refused')) }, close: async () => {} }
    const throttle = new AuthFailureThrottle({ limiter: down })
    for (let failure = 0; failure < 3; failure++) expect(await throttle.failed('192.0.2.1')).toBe(0)
    expect(await throttle.failed('192.0.2.1')).toBeGreaterThan(0)
    expect(throttle.refusedForMs('192.0.2.1')).toBeGreaterThan(0)
  })
})

describeWithService('redis', 'REDIS_URL', 'AuthFailureThrottle on Redis', (url) => {
  it('shares the budget between instances: failures on one refuse the address on the other', async () => {
    const prefix = uniquePrefix()
    const limiters = [createRedisRateLimiter(url, { tiers: TIERS, prefix, connection: {} }), createRedisRateLimiter(url, { tiers: TIERS, prefix, connection: {} })] as const
    try {
      await Promise.all(limiters.map((limiter) => limiter.ready(10_000)))
      const [first, second] = limiters.map((limiter) => new AuthFailureThrottle({ limiter }))
      for (let failure = 0; failure < 3; failure++) expect(await first!.failed('203.0.113.9')).toBe(0)
      // The second instance has seen no failure of this address, yet its first one is refused.
      expect(second!.refusedForMs('203.0.113.9')).toBe(0)
      expect(await second!.failed('203.0.113.9')).toBeGreaterThan(0)
      expect(second!.refusedForMs('203.0.113.9')).toBeGreaterThan(0)
    } finally {
      await Promise.all(limiters.map((limiter) => limiter.close()))
    }
  })
})
