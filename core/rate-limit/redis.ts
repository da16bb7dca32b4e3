import type { Redis } from 'ioredis'
import { closeRedis, connectRedis, waitUntilReady, type RedisConnectionOptions } from '../redis/connect.ts'
import { chargedCost, RateLimitUnavailableError, tierLimit, validateTiers, type RateLimitDecision, type RateLimiter, type Tiers } from './port.ts'

/**
 * The token bucket of bucket.ts, atomically in Redis. Time is Redis's own (TIME), so instances
 * with skewed clocks share one notion of refill. The key expires when the bucket would be full
 * again: a missing key and a full bucket are the same thing. Redis 7 replicates a script's effects,
 * not the script, so reading TIME before writing is allowed; replicate_commands() makes it so on 5-6.
 *
 * KEYS[1] bucket; ARGV capacity, refill tokens per ms, cost.
 * Returns {allowed 0|1, remaining (whole tokens), reset ms, retry-after ms}.
 */
export const TOKEN_BUCKET_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
elseif now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * per_ms)
  ts = now
end
local allowed = 0
local retry_after = 0
if cost <= tokens then
  tokens = tokens - cost
  allowed = 1
else
  retry_after = math.ceil((cost - tokens) / per_ms)
end
local reset = math.ceil((capacity - tokens) / per_ms)
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', ts)
redis.call('PEXPIRE', KEYS[1], math.max(reset, 1))
return {allowed, math.floor(tokens), reset, retry_after}
`

type TakeReply = [number, number, number, number]

interface TokenBucketClient extends Redis {
  eddyTakeTokens(key: string, capacity: number, perMs: number, cost: number): Promise<TakeReply>
}

export interface RedisRateLimiterOptions {
  readonly tiers: Tiers
  /** Key prefix, e.g. 'eddy:'; buckets are `<prefix>rl:<tier>:<key>`. */
  readonly prefix: string
  readonly connection: Omit<RedisConnectionOptions, 'name'>
}

export const RATE_LIMIT_CONNECTION_DEFAULTS = Object.freeze({
  // A limiter sits in front of every request: a slow answer costs more than no answer.
  commandTimeoutMs: 250,
  maxRetriesPerRequest: 0,
})

export interface RedisRateLimiter extends RateLimiter {
  /** Commands that failed (Redis down, timed out) since start; the caller's policy answered them. */
  failures(): number
  /** Whether Redis answered within `timeoutMs`; until it does, takes fail fast. */
  ready(timeoutMs: number): Promise<boolean>
}

export function createRedisRateLimiter(url: string, options: RedisRateLimiterOptions): RedisRateLimiter {
  const tiers = validateTiers(options.tiers)
  const client = connectRedis(url, {
    ...options.connection,
    name: 'rate-limit',
    commandTimeoutMs: options.connection.commandTimeoutMs ?? RATE_LIMIT_CONNECTION_DEFAULTS.commandTimeoutMs,
    maxRetriesPerRequest: options.connection.maxRetriesPerRequest ?? RATE_LIMIT_CONNECTION_DEFAULTS.maxRetriesPerRequest,
  }) as TokenBucketClient
  // defineCommand sends EVALSHA and falls back to EVAL on NOSCRIPT, which is what a restarted
  // (script cache emptied) Redis answers: recovery needs nothing more.
  client.defineCommand('eddyTakeTokens', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA })
  let failed = 0

  return {
    tiers,
    async take(key: string, tierName: string, cost?: number): Promise<RateLimitDecision> {
      const tier = tierLimit(tiers, tierName)
      const charged = chargedCost(tier, cost)
      let reply: TakeReply
      try {
        reply = await client.eddyTakeTokens(`${options.prefix}rl:${tierName}:${key}`, tier.capacity, tier.refillPerSecond / 1000, charged)
      } catch (error) {
        failed++
        throw new RateLimitUnavailableError(error)
      }
      const [allowed, remaining, resetMs, retryAfterMs] = reply
      return { allowed: allowed === 1, limit: tier.capacity, remaining, resetMs, retryAfterMs }
    },
    failures: () => failed,
    ready: (timeoutMs) => waitUntilReady(client, timeoutMs),
    close: () => closeRedis(client),
  }
}
