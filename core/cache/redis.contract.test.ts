import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, expect, it } from 'vitest'
import { describeWithService } from '../../test/support/services.ts'
import { inspector, uniquePrefix } from '../redis/test-support.ts'
import { queryCacheContract } from './contract.ts'
import { createRedisQueryCache, type RedisQueryCache, type RedisQueryCacheOptions } from './redis.ts'

describeWithService('redis', 'REDIS_URL', 'Redis query cache', (url) => {
  const opened: RedisQueryCache[] = []
  async function open(prefix: string, options: Partial<RedisQueryCacheOptions> = {}): Promise<RedisQueryCache> {
    const cache = createRedisQueryCache(url, { prefix, connection: {}, ...options })
    opened.push(cache)
    await cache.ready(10_000)
    return cache
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((cache) => cache.close()))
  })

  queryCacheContract('redis', async () => {
    const prefix = uniquePrefix()
    return { caches: [await open(prefix), await open(prefix)], advance: (ms) => sleep(ms), cleanup: async () => undefined }
  })

  const raw = inspector(url)
  afterAll(() => raw.quit())

  it('stores JSON under <prefix>cache:<key> with the TTL, and leaves no lock behind', async () => {
    const prefix = uniquePrefix()
    const cache = await open(prefix)
    await cache.getOrCompute('stats:1', 30_000, async () => ({ views: 1 }))
    expect(await raw.get(`${prefix}cache:stats:1`)).toBe('{"views":1}')
    const ttl = await raw.pttl(`${prefix}cache:stats:1`)
    expect(ttl).toBeGreaterThan(29_000)
    expect(ttl).toBeLessThanOrEqual(30_000)
    expect(await raw.exists(`${prefix}cache-lock:stats:1`)).toBe(0)
  })

  it('takes over when the instance holding the lock dies without a value', async () => {
    const prefix = uniquePrefix()
    const cache = await open(prefix, { waitMs: 5_000 })
    await raw.set(`${prefix}cache-lock:q`, 'someone-dead', 'PX', 200)
    const started = Date.now()
    expect(await cache.getOrCompute('q', 60_000, async () => 'mine')).toBe('mine')
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect(await raw.get(`${prefix}cache:q`)).toBe('"mine"')
  })

  it('stops waiting for a slow holder after waitMs and computes itself', async () => {
    const prefix = uniquePrefix()
    const cache = await open(prefix, { waitMs: 150 })
    await raw.set(`${prefix}cache-lock:q`, 'someone-slow', 'PX', 30_000)
    expect(await cache.getOrCompute('q', 60_000, async () => 'mine')).toBe('mine')
    // The slow holder's lock is its own: only it may release it.
    expect(await raw.get(`${prefix}cache-lock:q`)).toBe('someone-slow')
  })

  it('returns but does not store a value above maxValueBytes', async () => {
    const prefix = uniquePrefix()
    const cache = await open(prefix, { maxValueBytes: 10 })
    expect(await cache.getOrCompute('big', 60_000, async () => 'x'.repeat(100))).toHaveLength(100)
    expect(await raw.exists(`${prefix}cache:big`)).toBe(0)
    expect(await raw.exists(`${prefix}cache-lock:big`)).toBe(0)
  })
})
