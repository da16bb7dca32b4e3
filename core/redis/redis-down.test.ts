/**
 * Redis stopped mid-test, then started again on the same port, with the adapters kept: nothing may
 * hang, every service keeps answering under its failure policy, and everything works again once
 * Redis is back. Uses a private redis-server so the shared one other suites use is never stopped.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeWithService } from '../../test/support/services.ts'
import { createRedisQueryCache, type RedisQueryCache } from '../cache/redis.ts'
import { defineProblems } from '../http/problem.ts'
import { installRateLimit, type RateLimitFailurePolicy } from '../http/rate-limit.ts'
import { LiveUnavailableError } from '../live/port.ts'
import { createRedisLiveHub, type RedisLiveHub } from '../live/redis.ts'
import { RateLimitUnavailableError } from '../rate-limit/port.ts'
import { createRedisRateLimiter, type RedisRateLimiter } from '../rate-limit/redis.ts'
import { startPrivateServer, type PrivateServer } from '../../test/support/private-server.ts'
import { eventually } from './test-support.ts'

/** Far above the command timeouts (250-500 ms): the point is that nothing waits for a reconnect. */
const ANSWERS_WITHIN_MS = 3_000
const problems = defineProblems({
  RATE_LIMITED: { status: 429, title: 'Too many requests', meaning: 'test' },
  RATE_LIMIT_UNAVAILABLE: { status: 503, title: 'Rate limits unavailable', meaning: 'test' },
})

describeWithService('redis', 'REDIS_URL', 'Redis down, then back', () => {
  let server: PrivateServer
  let limiter: RedisRateLimiter
  let cache: RedisQueryCache
  let hub: RedisLiveHub
  const apps: Partial<Record<RateLimitFailurePolicy, FastifyInstance>> = {}

  beforeAll(async () => {
    server = await startPrivateServer('redis')
    const prefix = 'eddy-fault:'
    limiter = createRedisRateLimiter(server.url, { tiers: { t: { capacity: 100, refillPerSecond: 100 } }, prefix, connection: {} })
    cache = createRedisQueryCache(server.url, { prefix, connection: {} })
    hub = createRedisLiveHub(server.url, { prefix, connection: {} })
    expect(await Promise.all([limiter.ready(10_000), cache.ready(10_000), hub.ready(10_000)])).toEqual([true, true, true])
    for (const policy of ['open', 'local', 'closed'] as const) {
      const app = Fastify()
      installRateLimit(app, { limiter, onUnavailable: policy, problems: { rateLimited: problems.RATE_LIMITED, unavailable: problems.RATE_LIMIT_UNAVAILABLE }, target: () => ({ key: 'k', tier: 't' }) })
      app.get('/', async () => 'ok')
      apps[policy] = app
    }
  })

  afterAll(async () => {
    await Promise.all(Object.values(apps).map((app) => app.close()))
    await Promise.all([limiter?.close(), cache?.close(), hub?.close()])
    await server?.dispose()
  })

  async function timed<T>(operation: () => Promise<T>): Promise<T> {
    const started = Date.now()
    const result = await operation()
    expect(Date.now() - started).toBeLessThan(ANSWERS_WITHIN_MS)
    return result
  }

  it('keeps answering while Redis is down and recovers when it returns, without new adapters', async () => {
    let computed = 0
    const compute = async () => ++computed
    expect(await cache.getOrCompute('q', 60_000, compute)).toBe(1)
    expect(await cache.getOrCompute('q', 60_000, compute)).toBe(1)
    const before: unknown[] = []
    await hub.subscribe('feed', (message) => before.push(message)).ready

    await server.stop()

    await timed(() => expect(limiter.take('k', 't')).rejects.toBeInstanceOf(RateLimitUnavailableError))
    const open = await timed(() => apps.open!.inject('/'))
    expect(open.statusCode).toBe(200)
    expect(open.headers['ratelimit-limit']).toBeUndefined()
    const local = await timed(() => apps.local!.inject('/'))
    expect(local.statusCode).toBe(200)
    expect(local.headers['ratelimit-remaining']).toBe('99')
    const closed = await timed(() => apps.closed!.inject('/'))
    expect(closed.statusCode).toBe(503)
    expect(closed.headers['retry-after']).toBe('1')

    expect(await timed(() => cache.getOrCompute('q', 60_000, compute))).toBe(2)
    expect(cache.failures()).toBeGreaterThan(0)

    expect(await timed(() => hub.publish('feed', 'lost'))).toBe(false)
    expect(await timed(() => hub.incrementCounter('views', 1, 60_000))).toBe(false)
    await timed(() => expect(hub.readCounter('views', 60_000)).rejects.toBeInstanceOf(LiveUnavailableError))
    const during: unknown[] = []
    const lateSubscription = hub.subscribe('feed-late', (message) => during.push(message))

    await server.start()

    // The restarted server has no scripts cached: EVALSHA answers NOSCRIPT and the adapter resends.
    await eventually(() => limiter.take('k', 't'), 'the limiter to answer again')
    expect((await apps.closed!.inject('/')).headers['ratelimit-limit']).toBe('100')
    expect(limiter.failures()).toBeGreaterThan(0)

    await eventually(async () => {
      const before = computed
      await cache.getOrCompute('q-after', 60_000, compute)
      await cache.getOrCompute('q-after', 60_000, compute)
      if (computed !== before + 1) throw new Error('not cached yet')
    }, 'the cache to store again')

    await lateSubscription.ready
    await eventually(async () => {
      await hub.publish('feed', 'after')
      await hub.publish('feed-late', 'after')
      if (!before.includes('after') || !during.includes('after')) throw new Error('not delivered yet')
    }, 'both subscriptions to be restored')
    expect(before).not.toContain('lost')
    expect(await hub.incrementCounter('views', 1, 60_000)).toBe(true)
  })

  it('fails fast when Redis hangs instead of closing the connection', async () => {
    await eventually(() => limiter.take('k', 't'), 'the limiter to be up')
    const pid = Number(await readFile(join(server.dir, 'redis.pid'), 'utf8'))
    process.kill(pid, 'SIGSTOP')
    try {
      await timed(() => expect(limiter.take('k', 't')).rejects.toBeInstanceOf(RateLimitUnavailableError))
      expect((await timed(() => apps.open!.inject('/'))).statusCode).toBe(200)
      expect(await timed(() => cache.getOrCompute('hung', 60_000, async () => 'direct'))).toBe('direct')
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    await eventually(() => limiter.take('k', 't'), 'the limiter to answer again')
  })
})
