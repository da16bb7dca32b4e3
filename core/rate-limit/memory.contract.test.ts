import { rateLimiterContract } from './contract.ts'
import { createMemoryRateLimiter } from './memory.ts'

rateLimiterContract('memory', async (tiers) => {
  let now = 1_700_000_000_000
  const limiter = createMemoryRateLimiter({ tiers, clock: () => now })
  return {
    limiters: [limiter, limiter],
    advance: async (ms) => void (now += ms),
    now: () => now,
    cleanup: () => limiter.close(),
  }
})
