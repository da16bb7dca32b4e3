import type { Logger } from '../logging/logger.ts'
import { createMemoryRateLimiter } from './memory.ts'
import type { RateLimiter, Tiers } from './port.ts'
import { createRedisRateLimiter } from './redis.ts'

export type { RateLimitDecision, RateLimiter, TierLimit, Tiers } from './port.ts'
export { RateLimitUnavailableError } from './port.ts'

export interface RateLimiterOptions {
  /** Redis URL from the parsed config; undefined means buckets in this process. */
  readonly redisUrl?: string
  readonly tiers: Tiers
  readonly prefix?: string
  readonly commandTimeoutMs?: number
  /** How long start-up waits for Redis; after that the service starts anyway and the failure policy applies. */
  readonly connectWaitMs?: number
  readonly logger?: Logger
}

export async function createRateLimiter(options: RateLimiterOptions): Promise<RateLimiter> {
  if (options.redisUrl === undefined) return createMemoryRateLimiter({ tiers: options.tiers })
  const limiter = createRedisRateLimiter(options.redisUrl, {
    tiers: options.tiers,
    prefix: options.prefix ?? 'eddy:',
    connection: { commandTimeoutMs: options.commandTimeoutMs, logger: options.logger },
  })
  await limiter.ready(options.connectWaitMs ?? 2_000)
  return limiter
}
