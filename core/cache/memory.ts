import { createInFlight } from './in-flight.ts'
import type { QueryCache } from './port.ts'

export interface MemoryQueryCacheOptions {
  /** Entries kept; the least recently used goes first. */
  readonly maxEntries?: number
  readonly clock?: () => number
}

export function createMemoryQueryCache(options: MemoryQueryCacheOptions = {}): QueryCache {
  const maxEntries = options.maxEntries ?? 1_000
  const clock = options.clock ?? Date.now
  // A Map iterates in insertion order; re-inserting on a hit makes its first key the LRU one.
  const entries = new Map<string, { value: unknown; expiresAt: number }>()
  const inFlight = createInFlight()

  function read(key: string): { value: unknown } | undefined {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    entries.delete(key)
    if (entry.expiresAt <= clock()) return undefined
    entries.set(key, entry)
    return entry
  }

  function write(key: string, value: unknown, ttlMs: number): void {
    if (ttlMs <= 0) return
    entries.delete(key)
    entries.set(key, { value, expiresAt: clock() + ttlMs })
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!)
  }

  return {
    async getOrCompute<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<T> {
      const hit = read(key)
      if (hit !== undefined) return hit.value as T
      return inFlight(key, async () => {
        const value = await compute()
        write(key, value, ttlMs)
        return value
      })
    },
    async close() {
      entries.clear()
    },
  }
}
