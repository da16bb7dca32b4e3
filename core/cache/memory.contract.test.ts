import { expect, it } from 'vitest'
import { queryCacheContract } from './contract.ts'
import { createMemoryQueryCache } from './memory.ts'

queryCacheContract('memory', async () => {
  let now = 0
  const cache = createMemoryQueryCache({ clock: () => now })
  return { caches: [cache, cache], advance: async (ms) => void (now += ms), cleanup: () => cache.close() }
})

it('evicts the least recently used entry beyond maxEntries', async () => {
  const cache = createMemoryQueryCache({ maxEntries: 2 })
  let calls = 0
  const compute = (value: string) => async () => {
    calls++
    return value
  }
  await cache.getOrCompute('a', 60_000, compute('a'))
  await cache.getOrCompute('b', 60_000, compute('b'))
  await cache.getOrCompute('a', 60_000, compute('a'))
  await cache.getOrCompute('c', 60_000, compute('c'))
  expect(calls).toBe(3)
  await cache.getOrCompute('a', 60_000, compute('a'))
  expect(calls).toBe(3)
  await cache.getOrCompute('b', 60_000, compute('b'))
  expect(calls).toBe(4)
})
