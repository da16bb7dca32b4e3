/**
 * The RateLimiter port: token buckets, one per (key, tier). A tier names a policy (capacity and
 * refill rate); a key names who is limited within it (a write key, a read key's fingerprint).
 * Every adapter gives the same answers for the same sequence of takes and elapsed time.
 */

export interface TierLimit {
  /** Tokens a full bucket holds: the largest burst. */
  readonly capacity: number
  /** Tokens added per second: the sustained rate. */
  readonly refillPerSecond: number
}

export type Tiers = Readonly<Record<string, TierLimit>>

export interface RateLimitDecision {
  readonly allowed: boolean
  /** The tier's capacity. */
  readonly limit: number
  /** Whole tokens left after this take. */
  readonly remaining: number
  /** Milliseconds until the bucket is full again. */
  readonly resetMs: number
  /** Milliseconds until this take would succeed; 0 when allowed. */
  readonly retryAfterMs: number
}

export interface RateLimiter {
  readonly tiers: Tiers
  /**
   * Takes `cost` tokens (default 1) if the bucket holds them, otherwise takes nothing. A cost above
   * the capacity is charged as the capacity, so an oversized request drains a full bucket instead
   * of being refused forever. Rejects with RateLimitUnavailableError when the store cannot answer.
   */
  take(key: string, tier: string, cost?: number): Promise<RateLimitDecision>
  close(): Promise<void>
}

/** The shared store did not answer in time; the caller decides whether to fail open or closed. */
export class RateLimitUnavailableError extends Error {
  readonly retriable = true
  constructor(cause: unknown) {
    super(`rate limit store unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'RateLimitUnavailableError'
  }
}

/** Checked once when a limiter is built, so a bad tier is a start-up error, not a 500 later. */
export function validateTiers(tiers: Tiers): Tiers {
  for (const [name, tier] of Object.entries(tiers)) {
    if (!(Number.isFinite(tier.capacity) && tier.capacity >= 1)) throw new Error(`rate limit tier ${name}: capacity must be a number >= 1`)
    if (!(Number.isFinite(tier.refillPerSecond) && tier.refillPerSecond > 0)) throw new Error(`rate limit tier ${name}: refillPerSecond must be > 0`)
  }
  return Object.freeze({ ...tiers })
}

export function tierLimit(tiers: Tiers, name: string): TierLimit {
  const tier = tiers[name]
  if (tier === undefined) throw new Error(`unknown rate limit tier ${JSON.stringify(name)}`)
  return tier
}

export function chargedCost(tier: TierLimit, cost: number | undefined): number {
  const requested = cost ?? 1
  if (!(Number.isFinite(requested) && requested >= 0)) throw new Error(`rate limit cost must be a number >= 0, got ${requested}`)
  return Math.min(requested, tier.capacity)
}
