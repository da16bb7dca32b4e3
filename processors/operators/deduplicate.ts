import type { RestoreResult } from '../job.ts'
import { MAP_ENTRY_BYTES, NUMBER_BYTES, objectBytes, stringBytes } from '../state/heap-size.ts'
import { compareCodePoints, sortableNumber } from '../state/key-order.ts'
import type { PartitionStateStore } from '../state/store.ts'
import { decodeList, decodeRemembered, decodeSnapshot, encodeList, encodeRemembered, encodeSnapshot, type Listed, type Remembered } from './deduplicate-format.ts'
import { MinHeap } from '../collections/min-heap.ts'

/** Ids sized per heapBytes() call: summing every one would be O(ids) at each metrics scrape. */
const SAMPLED_IDS = 256
/** Past maxEntries, this share of the bound is forgotten at once, oldest event time first. */
const FORGET_SHARE = 0.1
/** The horizon is cut into this many cells of event time; ids expire a cell at a time. */
const CELLS_PER_HORIZON = 10
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

/**
 * Drops events whose id was already seen, so a client retry that reached the log twice is counted
 * once in aggregates (raw tables deduplicate on their own). Memory is bounded twice: by event time
 * (everything the windows still accept) and by a count, so a burst cannot grow it without limit.
 *
 * The ids live in the partition's state store, not in the heap. `<prefix>i/<id>` holds an id's
 * event time and arrival number; for expiry, each checkpoint also writes one list per cell of
 * event time (a tenth of the horizon) of the ids it remembered there, `<prefix>c/<cell>/<seq>`.
 * When the horizon's cutoff passes a cell, its lists are read and dropped and their ids forgotten,
 * so a checkpoint writes about one entry per new id and expiry never scans. The heap holds the ids
 * changed since the last checkpoint, and the few ids past the cutoff that recent arrival still
 * keeps ("lingering"). A restored deduplicator reads the same ids from the store, so it decides
 * exactly as the one that was saved.
 */
export class Deduplicator<In> {
  /** Ids remembered (or forgotten: null) since the last checkpoint, by id. */
  private changed = new Map<string, Remembered | null>()
  /** Ids remembered since the last checkpoint, by their cell: the next checkpoint's lists. */
  private fresh = new Map<number, string[]>()
  /** Lists whose cell expired: deleted by the next checkpoint. */
  private expiredLists: string[] = []
  /**
   * Ids of cells already expired that recent arrival keeps, by id with their arrival number, and
   * in arrival order: past the cutoff only arrivals can let them go, so an expiry releases those
   * whose arrival is far enough behind, oldest first, without looking at the rest.
   */
  private lingering = new Map<string, number>()
  private lingeringByArrival = new MinHeap<string>()
  /** The lingering ids in snapshot order, kept between checkpoints while they do not change. */
  private lingeringSorted: Array<[string, number]> | undefined
  private readonly cellMs: number
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
  ) {
    this.cellMs = Math.max(1, limits.horizonMs / CELLS_PER_HORIZON)
  }

  /**
   * Every decision is made per event against the state left by the events before it, never by
   * when a checkpoint was taken, so how a stream is cut into batches and checkpoints cannot change
   * what is dropped.
   */
  filter(events: readonly In[]): In[] {
    const passed: In[] = []
    for (const event of events) {
      const id = this.idOf(event)
      const seen = this.lookup(id)
      this.arrivals += 1
      if (seen !== undefined && this.stillRemembered(seen)) {
        this.duplicates += 1
        continue
      }
      const time = this.timeOf(event)
      if (seen !== undefined) this.forget(id) // forgotten in effect: re-remembered as newest
      this.changed.set(id, { time, arrival: this.arrivals })
      this.listFresh(id, this.cellOf(time))
      this.remembered += 1
      if (time > this.newest) {
        const before = this.expiredBelow()
        this.newest = time
        // Per event, as the cutoff crosses into a new cell: what is forgotten, and so the count
        // the bound is held to, follows from the events alone, not from batches or checkpoints.
        if (this.expiredBelow() > before) this.expire(before)
      }
      if (this.remembered > this.limits.maxEntries) this.forgetOldest()
      passed.push(event)
    }
    return passed
  }

  /** Ids remembered: in the store and since the last checkpoint. */
  get size(): number {
    return this.remembered
  }

  /** Roughly the heap the ids changed since the last checkpoint and the lingering ones take (heap-size.ts); the rest is on disk. */
  heapBytes(): number {
    let sampled = 0
    let sampledBytes = 0
    for (const id of this.changed.keys()) {
      sampledBytes += stringBytes(id)
      if (++sampled === SAMPLED_IDS) break
    }
    const perId = sampled === 0 ? 0 : sampledBytes / sampled
    return Math.round(this.changed.size * (perId + MAP_ENTRY_BYTES + ENTRY_BYTES + 8) + this.lingering.size * (perId + MAP_ENTRY_BYTES))
  }

  /** Hands what changed since the last call to a checkpoint, as state store entries. */
  changes(into: Map<string, Uint8Array | null>): void {
    for (const key of this.expiredLists) into.set(key, null)
    for (const [id, seen] of this.changed) into.set(this.idKey(id), seen === null ? null : encodeRemembered(seen))
    const expiredBelow = this.expiredBelow()
    for (const [cell, ids] of this.fresh) {
      const current: Listed[] = []
      for (const id of ids) {
        const seen = this.changed.get(id)
        if (seen != null && this.cellOf(seen.time) === cell) current.push({ id, ...seen })
      }
      if (current.length === 0) continue
      // A cell that already expired is never read again: its ids linger until arrivals let them go.
      if (cell < expiredBelow) for (const { id, arrival } of current) this.linger(id, arrival)
      // Named by its first id's arrival: unique, and the same whenever the checkpoint falls.
      else into.set(this.listKey(cell, current[0]!.arrival), encodeList(current))
    }
    this.changed = new Map()
    this.fresh = new Map()
    this.expiredLists = []
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

  private listFresh(id: string, cell: number): void {
    const list = this.fresh.get(cell)
    if (list === undefined) this.fresh.set(cell, [id])
    else list.push(id)
  }

  private linger(id: string, arrival: number): void {
    if (this.lingering.get(id) === arrival) return
    this.lingering.set(id, arrival)
    this.lingeringSorted = undefined
    this.lingeringByArrival.push(arrival, id)
  }

  private forget(id: string): void {
    this.changed.set(id, null)
    if (this.lingering.delete(id)) this.lingeringSorted = undefined
    this.remembered -= 1
  }

  private cellOf(time: number): number {
    return Math.floor(time / this.cellMs)
  }

  /** Cells below this one are past the horizon's cutoff. */
  private expiredBelow(): number {
    return this.newest === Number.NEGATIVE_INFINITY ? Number.NEGATIVE_INFINITY : this.cellOf(this.newest - this.limits.horizonMs)
  }

  private idKey(id: string): string {
    return `${this.prefix}i/${id}`
  }

  private listKey(cell: number, firstArrival: number): string {
    return `${this.prefix}c/${sortableNumber(cell)}/${sortableNumber(firstArrival)}`
  }

  /**
   * The ids that linger: kept by recent arrival past their cell's expiry, and those remembered
   * since the checkpoint into a cell already expired (which the next checkpoint makes linger), so
   * the snapshot is the same whenever it is taken.
   */
  private lingeringIds(): Array<[string, number]> {
    const byId = ([left]: [string, number], [right]: [string, number]) => compareCodePoints(left, right)
    this.lingeringSorted ??= [...this.lingering].sort(byId)
    const late = new Map<string, number>()
    const expiredBelow = this.expiredBelow()
    for (const [cell, listed] of this.fresh) {
      if (cell >= expiredBelow) continue
      for (const id of listed) {
        const seen = this.changed.get(id)
        if (seen != null && this.cellOf(seen.time) === cell && !this.lingering.has(id)) late.set(id, seen.arrival)
      }
    }
    return late.size === 0 ? this.lingeringSorted : [...this.lingeringSorted, ...late].sort(byId)
  }

  /** Whether `entry` is still the id's remembered entry (not forgotten, nor remembered again since). */
  private isCurrent(entry: Listed): boolean {
    const seen = this.lookup(entry.id)
    return seen !== undefined && seen.time === entry.time && seen.arrival === entry.arrival
  }

  /**
   * The ids listed in cells from `from` below `until`: stored lists (their keys too), and this
   * checkpoint's below `until` whatever their cell (an id remembered late, into a cell already
   * expired, is expired at the next crossing as it would be had a checkpoint made it linger).
   */
  private listed(from: number, until: number): { entries: Listed[]; keys: string[] } {
    const entries: Listed[] = []
    const keys: string[] = []
    const prefix = `${this.prefix}c/`
    const bounds = { ...(from === Number.NEGATIVE_INFINITY ? {} : { from: `${prefix}${sortableNumber(from)}/` }), until: `${prefix}${sortableNumber(until)}/` }
    for (const { key, value } of this.store.range(prefix, bounds)) {
      keys.push(key)
      for (const entry of decodeList(value)) entries.push(entry)
    }
    for (const [cell, ids] of this.fresh) {
      if (cell >= until) continue
      for (const id of ids) {
        // Listed here only while its newest remembrance is in this cell: an id remembered again
        // since, into a later cell, is listed there, and must not expire with the old one.
        const seen = this.changed.get(id)
        if (seen != null && this.cellOf(seen.time) === cell) entries.push({ id, ...seen })
      }
    }
    return { entries, keys }
  }

  /** The cutoff crossed from cell `from` into a later one: every id listed below it is forgotten unless recent arrival keeps it. */
  private expire(from: number): void {
    const until = this.expiredBelow()
    const { entries, keys } = this.listed(from, until)
    for (const key of keys) this.expiredLists.push(key)
    for (const cell of [...this.fresh.keys()]) if (cell < until) this.fresh.delete(cell)
    const expired = new Set<string>()
    for (const entry of entries) {
      if (!this.isCurrent(entry)) continue
      if (this.stillRemembered(entry)) this.linger(entry.id, entry.arrival)
      else expired.add(entry.id)
    }
    const released = this.arrivals - (this.limits.recentArrivals ?? 10_000)
    while (this.lingeringByArrival.peekPriority() <= released) {
      const arrival = this.lingeringByArrival.peekPriority()
      const id = this.lingeringByArrival.pop()!
      // An id forgotten, or remembered again, since it began to linger has left the map or moved.
      if (this.lingering.get(id) === arrival) expired.add(id)
    }
    for (const id of expired) this.forget(id)
  }

  /**
   * Past the bound, the oldest tenth of it goes at once, oldest by event time (whole
   * milliseconds, then id by code point): a read of the cells from the oldest up.
   */
  private forgetOldest(): void {
    const target = Math.floor(this.limits.maxEntries * (1 - FORGET_SHARE))
    const all = this.listed(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY).entries
    for (const id of this.lingering.keys()) {
      const seen = this.lookup(id)
      if (seen !== undefined) all.push({ id, ...seen })
    }
    const current = new Map<string, Listed>()
    for (const entry of all) if (this.isCurrent(entry)) current.set(entry.id, entry)
    const oldest = [...current.values()].sort((left, right) => Math.floor(left.time) - Math.floor(right.time) || compareCodePoints(left.id, right.id))
    const victims = oldest.slice(0, Math.max(0, this.remembered - target))
    for (const { id } of victims) this.forget(id)
    this.forgottenEarly += victims.length
  }

  snapshot(): Uint8Array {
    const counters = { newest: this.newest, duplicates: this.duplicates, forgottenEarly: this.forgottenEarly, arrivals: this.arrivals, remembered: this.remembered }
    return encodeSnapshot(counters, this.lingeringIds())
  }

  /**
   * The counters and lingering ids; the rest is the store's. A snapshot from before the store
   * (every id inside) restores too: its ids become changes, which the next checkpoint writes.
   */
  restore(snapshot: Uint8Array): RestoreResult {
    this.changed = new Map()
    this.fresh = new Map()
    this.expiredLists = []
    this.lingering = new Map()
    this.lingeringByArrival = new MinHeap()
    this.lingeringSorted = undefined
    try {
      const decoded = decodeSnapshot(snapshot)
      ;({ newest: this.newest, duplicates: this.duplicates, forgottenEarly: this.forgottenEarly, arrivals: this.arrivals, remembered: this.remembered } = decoded.counters)
      if (decoded.layout === 'store') {
        for (const [id, arrival] of decoded.lingering) this.linger(id, arrival)
        return { ok: true }
      }
      const expiredBelow = this.expiredBelow()
      for (const { id, time, arrival } of decoded.ids) {
        this.changed.set(id, { time, arrival })
        // Its cell may have expired already (recent arrival kept it): then it lingers.
        const cell = this.cellOf(time)
        if (cell < expiredBelow) this.linger(id, arrival)
        else this.listFresh(id, cell)
      }
      return { ok: true }
    } catch (error) {
      this.changed = new Map()
      this.fresh = new Map()
      this.lingering = new Map()
      this.lingeringByArrival = new MinHeap()
      this.remembered = 0
      return { ok: false, reason: `deduplicator snapshot: ${(error as Error).message}` }
    }
  }
}

