import type { RateLimitDecision, TierLimit } from './port.ts'

export interface BucketState {
  readonly tokens: number
  /** Time of the last refill, ms. */
  readonly updatedAt: number
}

/**
 * The token bucket as a pure function. redis.ts runs the same arithmetic in Lua; keep them in step
 * (the contract suite runs both). A clock that goes back is treated as standing still, so a
 * bucket never loses tokens to time.
 */
export function takeFromBucket(state: BucketState | undefined, tier: TierLimit, cost: number, now: number): { state: BucketState; decision: RateLimitDecision } {
  const perMs = tier.refillPerSecond / 1000
  let tokens = tier.capacity
  let updatedAt = now
  if (state !== undefined) {
    updatedAt = Math.max(state.updatedAt, now)
    tokens = Math.min(tier.capacity, state.tokens + (updatedAt - state.updatedAt) * perMs)
  }
  const allowed = cost <= tokens
  if (allowed) tokens -= cost
  return {
    state: { tokens, updatedAt },
    decision: {
      allowed,
      limit: tier.capacity,
      remaining: Math.floor(tokens),
      resetMs: Math.ceil((tier.capacity - tokens) / perMs),
      retryAfterMs: allowed ? 0 : Math.ceil((cost - tokens) / perMs),
    },
  }
}
