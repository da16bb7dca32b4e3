import type { Logger } from '../logging/logger.ts'
import { createMemoryQueryCache } from './memory.ts'
import type { QueryCache } from './port.ts'
import { createRedisQueryCache } from './redis.ts'

export type { QueryCache } from './port.ts'

export interface QueryCacheOptions {
  /** Redis URL from the parsed config; undefined means a cache in this process. */
  readonly redisUrl?: string
  readonly prefix?: string
  /** Entries of the in-process cache. */
  readonly maxEntries?: number
  readonly lockTtlMs?: number
  readonly waitMs?: number
  readonly maxValueBytes?: number
  /** How long start-up waits for Redis; after that the service starts anyway and computes directly. */
  readonly connectWaitMs?: number
  readonly logger?: Logger
}

export async function createQueryCache(options: QueryCacheOptions = {}): Promise<QueryCache> {
  if (options.redisUrl === undefined) return createMemoryQueryCache({ maxEntries: options.maxEntries })
  const cache = createRedisQueryCache(options.redisUrl, {
    prefix: options.prefix ?? 'eddy:',
    lockTtlMs: options.lockTtlMs,
    waitMs: options.waitMs,
    maxValueBytes: options.maxValueBytes,
    connection: { logger: options.logger },
  })
  await cache.ready(options.connectWaitMs ?? 2_000)
  return cache
}
