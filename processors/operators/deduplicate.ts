import type { RestoreResult } from '../job.ts'
import { MAP_ENTRY_BYTES, stringBytes } from '../state/heap-size.ts'

/** Ids sized per heapBytes() call: summing every one would be O(ids) at each metrics scrape. */
const SAMPLED_IDS = 256

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
  /**
   * id → slot; a slot's event time and arrival number live in two typed arrays. An entry is then a
   * Map slot and a small integer instead of a two-element array: about half the memory, and nothing
   * per id for the garbage collector to trace, which matters because ids live for the whole horizon.
   * The Map's insertion order is the order seen, which eviction and snapshots follow.
   */
  private readonly seen = new Map<string, number>()
  private times = new Float64Array(1_024)
  private arrivalNumbers = new Float64Array(1_024)
  private readonly freeSlots: number[] = []
  private slotsUsed = 0
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
      const slot = this.seen.get(id)
      this.arrivals += 1
      if (slot !== undefined && this.remembered(slot)) {
        this.duplicates += 1
        continue
      }
      const time = this.timeOf(event)
      if (slot !== undefined) this.forget(id, slot) // forgotten in effect: re-insert as newest
      this.remember(id, time, this.arrivals)
      if (time > this.newest) this.newest = time
      if (this.seen.size > maxEntries) {
        const [oldest, oldestSlot] = this.seen.entries().next().value!
        this.forget(oldest, oldestSlot)
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

  /**
   * Roughly the heap the remembered ids take (heap-size.ts): their strings, sized from a sample
   * of 256, and Map entries. The slot arrays live outside the V8 heap (16 bytes a slot, see
   * slotCapacity): on the traffic model this came to 93 B per id measured against 96 estimated.
   */
  heapBytes(): number {
    let sampled = 0
    let sampledBytes = 0
    for (const id of this.seen.keys()) {
      sampledBytes += stringBytes(id)
      if (++sampled === SAMPLED_IDS) break
    }
    const ids = sampled === 0 ? 0 : (sampledBytes / sampled) * this.seen.size
    return Math.round(ids + this.seen.size * MAP_ENTRY_BYTES + 8 * this.freeSlots.length)
  }

  /** Slots the typed arrays have room for: they grow to the most ids remembered at once, never beyond. */
  get slotCapacity(): number {
    return this.times.length
  }

  private remembered(slot: number): boolean {
    return this.times[slot]! >= this.newest - this.limits.horizonMs || this.arrivalNumbers[slot]! > this.arrivals - (this.limits.recentArrivals ?? 10_000)
  }

  private remember(id: string, time: number, arrival: number): void {
    let slot = this.freeSlots.pop()
    if (slot === undefined) {
      if (this.slotsUsed === this.times.length) this.growSlots()
      slot = this.slotsUsed++
    }
    this.times[slot] = time
    this.arrivalNumbers[slot] = arrival
    this.seen.set(id, slot)
  }

  private forget(id: string, slot: number): void {
    this.seen.delete(id)
    this.freeSlots.push(slot)
  }

  private growSlots(): void {
    const times = new Float64Array(this.times.length * 2)
    times.set(this.times)
    this.times = times
    const arrivals = new Float64Array(this.arrivalNumbers.length * 2)
    arrivals.set(this.arrivalNumbers)
    this.arrivalNumbers = arrivals
  }

  private clear(): void {
    this.seen.clear()
    this.freeSlots.length = 0
    this.slotsUsed = 0
  }

  /** Frees entries that are no longer remembered; decisions never depend on it having run. */
  private collectGarbage(): void {
    const { horizonMs } = this.limits
    const cutoff = this.newest - horizonMs
    // Scanning the map is O(n); do it only once the cutoff has moved by a tenth of the horizon.
    if (cutoff - this.evictedBelow < horizonMs / 10) return
    for (const [id, slot] of this.seen) if (!this.remembered(slot)) this.forget(id, slot)
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
    for (const [id, slot] of this.seen) {
      const length = bytes.write(id, offset + 2, 'utf8')
      bytes.writeUInt16LE(length, offset)
      offset = bytes.writeDoubleLE(this.times[slot]!, offset + 2 + length)
      offset = bytes.writeDoubleLE(this.arrivalNumbers[slot]!, offset)
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, offset)
  }

  restore(snapshot: Uint8Array): RestoreResult {
    try {
      const bytes = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength)
      this.clear()
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
        this.remember(id, bytes.readDoubleLE(offset + 2 + length), bytes.readDoubleLE(offset + 2 + length + 8))
        offset += 2 + length + 16
      }
      if (offset !== bytes.length) throw new Error('trailing bytes')
      return { ok: true }
    } catch (error) {
      this.clear()
      return { ok: false, reason: `deduplicator snapshot: ${(error as Error).message}` }
    }
  }
}
