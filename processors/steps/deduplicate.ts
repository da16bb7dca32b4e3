import type { RestoreResult } from '../job.ts'

export interface DeduplicatorLimits {
  /** Ids are remembered this long (event time) behind the newest event seen… */
  readonly horizonMs: number
  /** …and for this many arrivals whatever their time: a retry of an event that was already too late arrives soon after it. */
  readonly recentArrivals?: number
  /** And at most this many; beyond it the oldest-seen are forgotten first (a counter says how many). */
  readonly maxEntries: number
}

/**
 * Drops events whose id was already seen, so a client retry that reached the log twice is counted
 * once in aggregates (raw tables deduplicate on their own). Memory is bounded twice: by event time
 * (everything the windows still accept) and by a count, so a burst cannot grow it without limit.
 * Entries are kept, evicted and snapshotted in the order they were seen, which is itself
 * deterministic, so a restored deduplicator behaves exactly as the one that was saved.
 */
export class Deduplicator<In> {
  /** id → [event time, arrival number] */
  private readonly seen = new Map<string, [number, number]>()
  private arrivals = 0
  private newest = Number.NEGATIVE_INFINITY
  private evictedBelow = Number.NEGATIVE_INFINITY
  duplicates = 0
  forgottenEarly = 0

  constructor(
    private readonly limits: DeduplicatorLimits,
    private readonly idOf: (event: In) => string,
    private readonly timeOf: (event: In) => number,
  ) {}

  /**
   * Every decision is made per event against the state left by the events before it, never by
   * when eviction last ran, so how a stream is cut into batches cannot change what is dropped.
   */
  filter(events: readonly In[]): In[] {
    const fresh: In[] = []
    const { maxEntries } = this.limits
    for (const event of events) {
      const id = this.idOf(event)
      const seen = this.seen.get(id)
      this.arrivals += 1
      if (seen !== undefined && this.remembered(seen)) {
        this.duplicates += 1
        continue
      }
      const time = this.timeOf(event)
      if (seen !== undefined) this.seen.delete(id) // forgotten in effect: re-insert as newest
      this.seen.set(id, [time, this.arrivals])
      if (time > this.newest) this.newest = time
      if (this.seen.size > maxEntries) {
        this.seen.delete(this.seen.keys().next().value!)
        this.forgottenEarly += 1
      }
      fresh.push(event)
    }
    this.collectGarbage()
    return fresh
  }

  get size(): number {
    return this.seen.size
  }

  private remembered([time, arrival]: [number, number]): boolean {
    return time >= this.newest - this.limits.horizonMs || arrival > this.arrivals - (this.limits.recentArrivals ?? 10_000)
  }

  /** Frees entries that are no longer remembered; decisions never depend on it having run. */
  private collectGarbage(): void {
    const { horizonMs } = this.limits
    const cutoff = this.newest - horizonMs
    // Scanning the map is O(n); do it only once the cutoff has moved by a tenth of the horizon.
    if (cutoff - this.evictedBelow < horizonMs / 10) return
    for (const [id, seen] of this.seen) if (!this.remembered(seen)) this.seen.delete(id)
    this.evictedBelow = cutoff
  }

  /** Layout: newest, evictedBelow, duplicates, forgottenEarly, arrivals (f64 each), count (u32), then per entry: id length (u16), id (UTF-8), time, arrival (f64). */
  snapshot(): Uint8Array {
    let size = 8 * 5 + 4
    for (const id of this.seen.keys()) size += 2 + Buffer.byteLength(id) + 16
    const bytes = Buffer.allocUnsafe(size)
    let offset = bytes.writeDoubleLE(this.newest, 0)
    offset = bytes.writeDoubleLE(this.evictedBelow, offset)
    offset = bytes.writeDoubleLE(this.duplicates, offset)
    offset = bytes.writeDoubleLE(this.forgottenEarly, offset)
    offset = bytes.writeDoubleLE(this.arrivals, offset)
    offset = bytes.writeUInt32LE(this.seen.size, offset)
    for (const [id, [time, arrival]] of this.seen) {
      const length = bytes.write(id, offset + 2, 'utf8')
      bytes.writeUInt16LE(length, offset)
      offset = bytes.writeDoubleLE(time, offset + 2 + length)
      offset = bytes.writeDoubleLE(arrival, offset)
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, offset)
  }

  restore(snapshot: Uint8Array): RestoreResult {
    try {
      const bytes = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength)
      this.seen.clear()
      this.newest = bytes.readDoubleLE(0)
      this.evictedBelow = bytes.readDoubleLE(8)
      this.duplicates = bytes.readDoubleLE(16)
      this.forgottenEarly = bytes.readDoubleLE(24)
      this.arrivals = bytes.readDoubleLE(32)
      const count = bytes.readUInt32LE(40)
      let offset = 44
      for (let index = 0; index < count; index++) {
        const length = bytes.readUInt16LE(offset)
        const id = bytes.toString('utf8', offset + 2, offset + 2 + length)
        this.seen.set(id, [bytes.readDoubleLE(offset + 2 + length), bytes.readDoubleLE(offset + 2 + length + 8)])
        offset += 2 + length + 16
      }
      if (offset !== bytes.length) throw new Error('trailing bytes')
      return { ok: true }
    } catch (error) {
      this.seen.clear()
      return { ok: false, reason: `deduplicator snapshot: ${(error as Error).message}` }
    }
  }
}
