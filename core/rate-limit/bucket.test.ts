import fc from 'fast-check'
import { expect, it } from 'vitest'
import { takeFromBucket, type BucketState } from './bucket.ts'

const tier = { capacity: 10, refillPerSecond: 4 }
const steps = fc.array(fc.record({ waitMs: fc.integer({ min: 0, max: 3_000 }), cost: fc.integer({ min: 0, max: 10 }) }), { maxLength: 200 })

it('never grants more than the capacity plus what refilled meanwhile', () => {
  fc.assert(
    fc.property(steps, (sequence) => {
      let state: BucketState | undefined
      let now = 0
      let granted = 0
      for (const { waitMs, cost } of sequence) {
        now += waitMs
        const result = takeFromBucket(state, tier, cost, now)
        state = result.state
        if (result.decision.allowed) granted += cost
        expect(state.tokens).toBeGreaterThanOrEqual(0)
        expect(state.tokens).toBeLessThanOrEqual(tier.capacity)
        expect(granted).toBeLessThanOrEqual(tier.capacity + (now * tier.refillPerSecond) / 1000 + 1e-9)
      }
    }),
  )
})

it('grants a refused cost exactly retry-after later, and not a millisecond before', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 10 }), (spent, cost) => {
      const drained = takeFromBucket(undefined, tier, spent, 0).state
      const refused = takeFromBucket(drained, tier, cost, 0)
      if (refused.decision.allowed) return
      const wait = refused.decision.retryAfterMs
      expect(takeFromBucket(drained, tier, cost, wait).decision.allowed).toBe(true)
      expect(takeFromBucket(drained, tier, cost, wait - 1).decision.allowed).toBe(false)
    }),
  )
})

it('treats a clock that goes back as standing still', () => {
  const drained = takeFromBucket(undefined, tier, 10, 5_000).state
  const earlier = takeFromBucket(drained, tier, 0, 1_000)
  expect(earlier.state).toEqual(drained)
  expect(takeFromBucket(earlier.state, tier, 1, 5_250).decision.allowed).toBe(true)
})
