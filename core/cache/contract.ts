/**
 * The QueryCache contract, against port.ts only. Two caches share the store: two Redis
 * connections, as two api instances have, or the same in-process cache twice. Expiry waits with
 * advance(): virtual time for memory, real time for Redis.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { QueryCache } from './port.ts'

export interface QueryCachesUnderTest {
  readonly caches: readonly [QueryCache, QueryCache]
  advance(ms: number): Promise<void>
  cleanup(): Promise<void>
}

function counted<T>(value: T, delayMs = 0) {
  const compute = Object.assign(
    async () => {
      compute.calls++
      if (delayMs > 0) await sleep(delayMs)
      return value
    },
    { calls: 0 },
  )
  return compute
}

export function queryCacheContract(name: string, make: () => Promise<QueryCachesUnderTest>): void {
  describe(`QueryCache contract: ${name}`, () => {
    let subject: QueryCachesUnderTest
    let a: QueryCache
    let b: QueryCache
    let key: string

    beforeEach(async () => {
      subject = await make()
      ;[a, b] = subject.caches
      key = `query-${Math.random().toString(36).slice(2)}`
    })
    afterEach(() => subject.cleanup())

    it('computes once and serves the stored value to every instance within the TTL', async () => {
      const compute = counted({ rows: [{ path: '/', views: 3 }], total: 3 })
      expect(await a.getOrCompute(key, 60_000, compute)).toEqual({ rows: [{ path: '/', views: 3 }], total: 3 })
      expect(await a.getOrCompute(key, 60_000, compute)).toEqual({ rows: [{ path: '/', views: 3 }], total: 3 })
      expect(await b.getOrCompute(key, 60_000, compute)).toEqual({ rows: [{ path: '/', views: 3 }], total: 3 })
      expect(compute.calls).toBe(1)
    })

    it('computes again after the TTL', async () => {
      const compute = counted(42)
      await a.getOrCompute(key, 100, compute)
      await subject.advance(150)
      expect(await b.getOrCompute(key, 100, compute)).toBe(42)
      expect(compute.calls).toBe(2)
    })

    it('runs one computation for many concurrent callers on two instances (no stampede)', async () => {
      const compute = counted('answer', 150)
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).getOrCompute(key, 60_000, compute)))
      expect(results).toEqual(Array(20).fill('answer'))
      expect(compute.calls).toBe(1)
    })

    it('caches no failure: waiting callers get the error, the next call computes again', async () => {
      let calls = 0
      const failing = async (): Promise<number> => {
        calls++
        await sleep(50)
        throw new Error('clickhouse said no')
      }
      const outcomes = await Promise.allSettled([a.getOrCompute(key, 60_000, failing), a.getOrCompute(key, 60_000, failing)])
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected'])
      expect(calls).toBe(1)
      expect(await b.getOrCompute(key, 60_000, async () => 7)).toBe(7)
    })

    it('keeps keys apart', async () => {
      expect(await a.getOrCompute(`${key}-1`, 60_000, async () => 1)).toBe(1)
      expect(await b.getOrCompute(`${key}-2`, 60_000, async () => 2)).toBe(2)
      expect(await b.getOrCompute(`${key}-1`, 60_000, async () => 3)).toBe(1)
    })
  })
}
