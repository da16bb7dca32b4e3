import { takeFromBucket, type BucketState } from './bucket.ts'
import { chargedCost, tierLimit, validateTiers, type RateLimitDecision, type RateLimiter, type Tiers } from './port.ts'

export interface MemoryRateLimiterOptions {
  readonly tiers: Tiers
  readonly clock?: () => number
  /** Buckets kept before full ones are swept; a full bucket is the same as no bucket. */
  readonly sweepAbove?: number
}

/** Buckets in this process only: the embedded default, and the api's fallback while Redis is down. */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiter {
  const tiers = validateTiers(options.tiers)
  const clock = options.clock ?? Date.now
  const sweepAbove = options.sweepAbove ?? 10_000
  const buckets = new Map<string, BucketState & { fullAt: number }>()
  // Sweeping is O(buckets); doubling the threshold keeps it amortised O(1) per take.
  let sweepAt = sweepAbove

  function sweep(now: number) {
    for (const [id, bucket] of buckets) if (bucket.fullAt <= now) buckets.delete(id)
  }

  return {
    tiers,
    async take(key: string, tierName: string, cost?: number): Promise<RateLimitDecision> {
      const tier = tierLimit(tiers, tierName)
      const now = clock()
      const id = `${tierName}\u0000${key}`
      const { state, decision } = takeFromBucket(buckets.get(id), tier, chargedCost(tier, cost), now)
      buckets.set(id, { ...state, fullAt: state.updatedAt + decision.resetMs })
      if (buckets.size > sweepAt) {
        sweep(now)
        sweepAt = Math.max(sweepAbove, buckets.size * 2)
      }
      return decision
    },
    async close() {
      buckets.clear()
    },
  }
}
