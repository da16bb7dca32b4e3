import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { closeRedis, connectRedis, waitUntilReady, type RedisConnectionOptions } from '../redis/connect.ts'
import { createInFlight } from './in-flight.ts'
import type { QueryCache } from './port.ts'

/**
 * Stores the computed value and releases the lock in one step, so a waiter that sees the lock gone
 * finds the value; the lock is deleted only if it is still ours (it may have expired and been
 * taken by another instance meanwhile). KEYS value, lock; ARGV token, JSON ('' = store nothing), ttl ms.
 */
const STORE_AND_UNLOCK_LUA = `
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`

interface CacheClient extends Redis {
  eddyStoreAndUnlock(valueKey: string, lockKey: string, token: string, json: string, ttlMs: number): Promise<number>
}

export interface RedisQueryCacheOptions {
  /** Key prefix, e.g. 'eddy:'; values are `<prefix>cache:<key>`, locks `<prefix>cache-lock:<key>`. */
  readonly prefix: string
  /** How long one instance may compute a key before another one may take over. */
  readonly lockTtlMs?: number
  /** How long an instance waits for another one's result before computing it itself. */
  readonly waitMs?: number
  /** First poll interval while waiting; it doubles up to 8 times this. */
  readonly pollMs?: number
  /** Larger results are returned but not stored: they would cost Redis memory and every reader a slow GET. */
  readonly maxValueBytes?: number
  readonly connection: Omit<RedisConnectionOptions, 'name'>
}

export const REDIS_CACHE_DEFAULTS = Object.freeze({ lockTtlMs: 5_000, waitMs: 5_000, pollMs: 20, maxValueBytes: 1_000_000 })

export interface RedisQueryCache extends QueryCache {
  /** Redis commands that failed since start; each was answered by computing directly. */
  failures(): number
  /** Whether Redis answered within `timeoutMs`; until it does, every call computes directly. */
  ready(timeoutMs: number): Promise<boolean>
}

export function createRedisQueryCache(url: string, options: RedisQueryCacheOptions): RedisQueryCache {
  const settings = {
    lockTtlMs: options.lockTtlMs ?? REDIS_CACHE_DEFAULTS.lockTtlMs,
    waitMs: options.waitMs ?? REDIS_CACHE_DEFAULTS.waitMs,
    pollMs: options.pollMs ?? REDIS_CACHE_DEFAULTS.pollMs,
    maxValueBytes: options.maxValueBytes ?? REDIS_CACHE_DEFAULTS.maxValueBytes,
  }
  const client = connectRedis(url, { ...options.connection, name: 'cache' }) as CacheClient
  client.defineCommand('eddyStoreAndUnlock', { numberOfKeys: 2, lua: STORE_AND_UNLOCK_LUA })
  const inFlight = createInFlight()
  let failed = 0

  /** Runs a Redis step; undefined means Redis failed and the caller should just compute. */
  async function attempt<T>(step: () => Promise<T>): Promise<{ ok: T } | undefined> {
    try {
      return { ok: await step() }
    } catch {
      failed++
      return undefined
    }
  }

  async function computeAndStore<T>(valueKey: string, lockKey: string, token: string, ttlMs: number, compute: () => Promise<T>): Promise<T> {
    let value: T
    try {
      value = await compute()
    } catch (error) {
      await attempt(() => client.eddyStoreAndUnlock(valueKey, lockKey, token, '', 1))
      throw error
    }
    const json = value === undefined || ttlMs <= 0 ? '' : JSON.stringify(value)
    const storable = Buffer.byteLength(json) <= settings.maxValueBytes ? json : ''
    await attempt(() => client.eddyStoreAndUnlock(valueKey, lockKey, token, storable, Math.max(1, Math.round(ttlMs))))
    return value
  }

  async function resolve<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<T> {
    const valueKey = `${options.prefix}cache:${key}`
    const lockKey = `${options.prefix}cache-lock:${key}`
    const token = randomUUID()
    const deadline = Date.now() + settings.waitMs
    let delay = settings.pollMs
    for (;;) {
      const cached = await attempt(() => client.get(valueKey))
      if (cached === undefined) return compute()
      if (cached.ok !== null) {
        const parsed = parse(cached.ok)
        if (parsed !== undefined) return parsed.value as T
      }
      const locked = await attempt(() => client.set(lockKey, token, 'PX', settings.lockTtlMs, 'NX'))
      if (locked === undefined) return compute()
      if (locked.ok === 'OK') return computeAndStore(valueKey, lockKey, token, ttlMs, compute)
      // Another instance is computing: wait for its value, or for its lock to go (it failed or
      // died), and stop waiting at the deadline rather than make this request slower still.
      if (Date.now() + delay > deadline) return computeAndStore(valueKey, lockKey, token, ttlMs, compute)
      await sleep(delay)
      delay = Math.min(delay * 2, settings.pollMs * 8)
    }
  }

  return {
    getOrCompute: <T>(key: string, ttlMs: number, compute: () => Promise<T>) => inFlight(key, () => resolve(key, ttlMs, compute)),
    failures: () => failed,
    ready: (timeoutMs) => waitUntilReady(client, timeoutMs),
    close: () => closeRedis(client),
  }
}

function parse(json: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(json) }
  } catch {
    return undefined
  }
}
