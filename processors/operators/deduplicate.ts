import type { RestoreResult } from '../job.ts'
import { MAP_ENTRY_BYTES, NUMBER_BYTES, objectBytes, stringBytes } from '../state/heap-size.ts'
import { compareCodePoints } from '../state/key-order.ts'
import type { PartitionStateStore } from '../state/store.ts'

/** Ids sized per heapBytes() call: summing every one would be O(ids) at each metrics scrape. */
const SAMPLED_IDS = 256
/** 'EDD2': the deduplicator's counters, its ids being in the state store. Older snapshots held every id. */
const MAGIC = 0x45444432
/** Past maxEntries, this share of the bound is forgotten at once, oldest event time first. */
const FORGET_SHARE = 0.1
/** An id's entry in memory: its object and boxed numbers. */
const ENTRY_BYTES = objectBytes(2) + 2 * NUMBER_BYTES

export interface DeduplicatorLimits {
  /** Ids are remembered this long (event time) behind the newest event seen… */
  readonly horizonMs: number
  /** …and for this many arrivals whatever their time: a retry of an event that was already too late arrives soon after it. */
  readonly recentArrivals?: number
  /** And at most this many; beyond it the oldest by event time are forgotten first (a counter says how many). */
  readonly maxEntries: number
}

interface Remembered {
  readonly time: number
  readonly arrival: number
}

/**
 * Drops events whose id was already seen, so a client retry that reached the log twice is counted
 * once in aggregates (raw tables deduplicate on their own). Memory is bounded twice: by event time
 * (everything the windows still accept) and by a count, so a burst cannot grow it without limit.
 *
 * The ids live in the partition's state store, not in the heap: per id, `<prefix>i/<id>` holds its
 * time and arrival number, and `<prefix>t/<time>/<id>` the same again, in event-time order, for
 * forgetting the oldest without a scan of every id. The heap holds only what changed since the
 * last checkpoint, which `changes` hands to the next one. A restored deduplicator reads the same
 * ids from the store, so it decides exactly as the one that was saved.
 */
export class Deduplicator<In> {
  /** Ids remembered (or forgotten: null) since the last checkpoint, by id. */
  private changed = new Map<string, Remembered | null>()
  /** Time-order keys of stored ids forgotten or re-remembered since the last checkpoint. */
  private staleOrder: string[] = []
  private arrivals = 0
  private newest = Number.NEGATIVE_INFINITY
  private remembered = 0
  duplicates = 0
  forgottenEarly = 0

  constructor(
    private readonly limits: DeduplicatorLimits,
    private readonly idOf: (event: In) => string,
    private readonly timeOf: (event: In) => number,
    private readonly store: PartitionStateStore,
    private readonly prefix = 'dedup/',
  ) {}

  /**
   * Every decision is made per event against the state left by the events before it, never by
   * when a checkpoint was taken, so how a stream is cut into batches and checkpoints cannot change
   * what is dropped.
   */
  filter(events: readonly In[]): In[] {
    const fresh: In[] = []
    for (const event of events) {
      const id = this.idOf(event)
      const seen = this.lookup(id)
      this.arrivals += 1
      if (seen !== undefined && this.stillRemembered(seen)) {
        this.duplicates += 1
        continue
      }
      const time = this.timeOf(event)
      if (seen !== undefined) this.forget(id, seen) // forgotten in effect: re-remembered as newest
      this.changed.set(id, { time, arrival: this.arrivals })
      this.remembered += 1
      if (time > this.newest) {
        const step = this.limits.horizonMs / 10
        const crossed = Math.floor((time - this.limits.horizonMs) / step) > Math.floor((this.newest - this.limits.horizonMs) / step)
        this.newest = time
        // Each time the cutoff crosses a tenth of the horizon (a fixed grid), checked per event:
        // what is forgotten, and so the count the bound is held to, follows from the events alone,
        // not from how they were batched or where a checkpoint fell.
        if (crossed) this.collectGarbage()
      }
      if (this.remembered > this.limits.maxEntries) this.forgetOldest()
      fresh.push(event)
    }
    return fresh
  }

  /** Ids remembered: in the store and since the last checkpoint. */
  get size(): number {
    return this.remembered
  }

  /** Roughly the heap the ids changed since the last checkpoint take (heap-size.ts); the rest is on disk. */
  heapBytes(): number {
    let sampled = 0
    let sampledBytes = 0
    for (const id of this.changed.keys()) {
      sampledBytes += stringBytes(id)
      if (++sampled === SAMPLED_IDS) break
    }
    const ids = sampled === 0 ? 0 : (sampledBytes / sampled) * this.changed.size
    return Math.round(ids + this.changed.size * (MAP_ENTRY_BYTES + ENTRY_BYTES) + this.staleOrder.length * 64)
  }

  /** Hands what changed since the last call to a checkpoint, as state store entries. */
  changes(into: Map<string, Uint8Array | null>): void {
    for (const key of this.staleOrder) into.set(key, null)
    for (const [id, seen] of this.changed) {
      if (seen === null) {
        into.set(this.idKey(id), null)
        continue
      }
      const value = encodeRemembered(seen)
      into.set(this.idKey(id), value)
      into.set(this.orderKey(seen.time, id), value)
    }
    this.changed = new Map()
    this.staleOrder = []
  }

  /** The remembered entry of `id`: changed since the checkpoint, or stored; undefined if none. */
  private lookup(id: string): Remembered | undefined {
    const changed = this.changed.get(id)
    if (changed !== undefined) return changed ?? undefined
    const stored = this.store.get(this.idKey(id))
    return stored === undefined ? undefined : decodeRemembered(stored)
  }

  private stillRemembered(seen: Remembered): boolean {
    return seen.time >= this.newest - this.limits.horizonMs || seen.arrival > this.arrivals - (this.limits.recentArrivals ?? 10_000)
  }

  private forget(id: string, seen: Remembered): void {
    // A stored id has its time-order key on disk; one remembered since the checkpoint has none yet.
    if (this.changed.get(id) === undefined) this.staleOrder.push(this.orderKey(seen.time, id))
    this.changed.set(id, null)
    this.remembered -= 1
  }

  private idKey(id: string): string {
    return `${this.prefix}i/${id}`
  }

  private orderKey(time: number, id: string): string {
    return `${this.prefix}t/${sortableTime(time)}/${id}`
  }

  /** Entries in event-time order, stored and changed together, up to `until` (exclusive) when given. */
  private *oldestFirst(until?: number): Iterable<{ id: string; seen: Remembered }> {
    // The order is the stored keys' (whole milliseconds, then the id by code point) for changed
    // entries too, so which ids a checkpoint has already written never changes what comes first.
    const fresh = [...this.changed].filter((entry): entry is [string, Remembered] => entry[1] !== null && (until === undefined || Math.floor(entry[1].time) < Math.floor(until)))
    fresh.sort((left, right) => compareOrder(left[1].time, left[0], right[1].time, right[0]))
    const orderPrefix = `${this.prefix}t/`
    const stored = this.store.range(orderPrefix, until === undefined ? {} : { until: `${orderPrefix}${sortableTime(until)}` })[Symbol.iterator]()
    let next = stored.next()
    let index = 0
    for (;;) {
      // A stored entry whose id changed since the checkpoint is stale: the changed one stands for it.
      while (!next.done && this.changed.has(idOfOrderKey(next.value.key, orderPrefix.length))) next = stored.next()
      const candidate = fresh[index]
      if (next.done && candidate === undefined) return
      const storedSeen = next.done ? undefined : decodeRemembered(next.value.value)
      const storedId = next.done ? undefined : idOfOrderKey(next.value.key, orderPrefix.length)
      if (candidate === undefined || (storedSeen !== undefined && compareOrder(storedSeen.time, storedId!, candidate[1].time, candidate[0]) < 0)) {
        next = stored.next()
        yield { id: storedId!, seen: storedSeen! }
      } else {
        index++
        yield { id: candidate[0], seen: candidate[1] }
      }
    }
  }

  /** Past the bound, the oldest tenth of it goes at once: finding the oldest is a range read. */
  private forgetOldest(): void {
    const target = Math.floor(this.limits.maxEntries * (1 - FORGET_SHARE))
    const victims: Array<{ id: string; seen: Remembered }> = []
    for (const entry of this.oldestFirst()) {
      if (this.remembered - victims.length <= target) break
      victims.push(entry)
    }
    for (const { id, seen } of victims) this.forget(id, seen)
    this.forgottenEarly += victims.length
  }

  /** Forgets entries no longer remembered; decisions never depend on it having run. */
  private collectGarbage(): void {
    const { horizonMs } = this.limits
    const cutoff = this.newest - horizonMs
    const expired: Array<{ id: string; seen: Remembered }> = []
    for (const entry of this.oldestFirst(cutoff)) if (!this.stillRemembered(entry.seen)) expired.push(entry)
    for (const { id, seen } of expired) this.forget(id, seen)
  }

  /** Layout: magic (u32), then newest, duplicates, forgottenEarly, arrivals, remembered (f64 each). */
  snapshot(): Uint8Array {
    const bytes = Buffer.allocUnsafe(4 + 8 * 5)
    bytes.writeUInt32LE(MAGIC, 0)
    let offset = 4
    for (const value of [this.newest, this.duplicates, this.forgottenEarly, this.arrivals, this.remembered]) offset = bytes.writeDoubleLE(value, offset)
    return new Uint8Array(bytes.buffer, bytes.byteOffset, offset)
  }

  /**
   * The counters; the ids are the store's. A snapshot from before the store (9973fea…3f1e, every
   * id inside) restores too: its ids become changes, which the next checkpoint writes to the store.
   */
  restore(snapshot: Uint8Array): RestoreResult {
    this.changed = new Map()
    this.staleOrder = []
    try {
      const bytes = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength)
      if (bytes.length >= 4 && bytes.readUInt32LE(0) === MAGIC) {
        if (bytes.length !== 4 + 8 * 5) throw new Error(`${bytes.length} bytes, not ${4 + 8 * 5}`)
        const values = Array.from({ length: 5 }, (_, index) => bytes.readDoubleLE(4 + index * 8))
        ;[this.newest, this.duplicates, this.forgottenEarly, this.arrivals, this.remembered] = values as [number, number, number, number, number]
        return { ok: true }
      }
      this.restoreWhole(bytes)
      return { ok: true }
    } catch (error) {
      this.changed = new Map()
      this.remembered = 0
      return { ok: false, reason: `deduplicator snapshot: ${(error as Error).message}` }
    }
  }

  /**
   * Layout before the store: newest, the cutoff its last collection ran at (now a fixed grid),
   * duplicates, forgottenEarly, arrivals (f64 each), count (u32), then per id: length (u16), id
   * (UTF-8), time, arrival (f64).
   */
  private restoreWhole(bytes: Buffer): void {
    this.newest = bytes.readDoubleLE(0)
    this.duplicates = bytes.readDoubleLE(16)
    this.forgottenEarly = bytes.readDoubleLE(24)
    this.arrivals = bytes.readDoubleLE(32)
    const count = bytes.readUInt32LE(40)
    let offset = 44
    for (let index = 0; index < count; index++) {
      const length = bytes.readUInt16LE(offset)
      const id = bytes.toString('utf8', offset + 2, offset + 2 + length)
      this.changed.set(id, { time: bytes.readDoubleLE(offset + 2 + length), arrival: bytes.readDoubleLE(offset + 2 + length + 8) })
      offset += 2 + length + 16
    }
    if (offset !== bytes.length) throw new Error('trailing bytes')
    this.remembered = this.changed.size
  }
}

/** Event times as fixed-width text that sorts as the numbers do (any safe integer, negative too). */
function sortableTime(time: number): string {
  // Clamped: a cutoff far below any event (an unbounded horizon) still makes a valid key.
  return Math.min(2 ** 54 - 1, Math.max(0, Math.floor(time) + 2 ** 53)).toString(16).padStart(15, '0')
}

function compareOrder(leftTime: number, leftId: string, rightTime: number, rightId: string): number {
  return Math.floor(leftTime) - Math.floor(rightTime) || compareCodePoints(leftId, rightId)
}

function idOfOrderKey(key: string, prefixLength: number): string {
  return key.slice(prefixLength + 16)
}

function encodeRemembered(seen: Remembered): Uint8Array {
  const bytes = Buffer.allocUnsafe(16)
  bytes.writeDoubleLE(seen.time, 0)
  bytes.writeDoubleLE(seen.arrival, 8)
  return bytes
}

function decodeRemembered(bytes: Uint8Array): Remembered {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { time: view.readDoubleLE(0), arrival: view.readDoubleLE(8) }
}
