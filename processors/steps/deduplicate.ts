import type { RestoreResult } from '../job.ts'

/**
 * Drops events whose id was already seen, so a client retry that reached the log twice is counted
 * once in aggregates (raw tables deduplicate on their own). Ids are remembered for `horizonMs` of
 * event time behind the newest event seen, which covers everything the windows still accept.
 */
export class Deduplicator<In> {
  private readonly seen = new Map<string, number>()
  private newest = Number.NEGATIVE_INFINITY
  private evictedBelow = Number.NEGATIVE_INFINITY
  duplicates = 0

  constructor(
    private readonly horizonMs: number,
    private readonly idOf: (event: In) => string,
    private readonly timeOf: (event: In) => number,
  ) {}

  filter(events: readonly In[]): In[] {
    const fresh: In[] = []
    for (const event of events) {
      const id = this.idOf(event)
      if (this.seen.has(id)) {
        this.duplicates += 1
        continue
      }
      const time = this.timeOf(event)
      this.seen.set(id, time)
      if (time > this.newest) this.newest = time
      fresh.push(event)
    }
    this.evict()
    return fresh
  }

  get size(): number {
    return this.seen.size
  }

  private evict(): void {
    const cutoff = this.newest - this.horizonMs
    // Scanning the map is O(n); do it only once the cutoff has moved by a tenth of the horizon.
    if (cutoff - this.evictedBelow < this.horizonMs / 10) return
    for (const [id, time] of this.seen) if (time < cutoff) this.seen.delete(id)
    this.evictedBelow = cutoff
  }

  snapshot(): Uint8Array {
    // Sorted, so equal state gives equal bytes.
    const entries = [...this.seen].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    return new TextEncoder().encode(JSON.stringify({ newest: this.newest, evictedBelow: this.evictedBelow, duplicates: this.duplicates, entries }))
  }

  restore(bytes: Uint8Array): RestoreResult {
    try {
      const state = JSON.parse(new TextDecoder().decode(bytes)) as { newest: number | null; evictedBelow: number | null; duplicates: number; entries: Array<[string, number]> }
      this.seen.clear()
      for (const [id, time] of state.entries) this.seen.set(id, time)
      this.newest = state.newest ?? Number.NEGATIVE_INFINITY
      this.evictedBelow = state.evictedBelow ?? Number.NEGATIVE_INFINITY
      this.duplicates = state.duplicates
      return { ok: true }
    } catch (error) {
      return { ok: false, reason: `deduplicator snapshot: ${(error as Error).message}` }
    }
  }
}
