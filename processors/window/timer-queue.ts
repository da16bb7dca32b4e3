import { MinHeap } from '../collections/min-heap.ts'
import { ByteReader, ByteWriter, compareStrings } from '../state/bytes.ts'
import { arrayBytes, MAP_ENTRY_BYTES, NUMBER_BYTES, objectBytes } from '../state/heap-size.ts'
import { sortableDouble } from '../state/key-order.ts'
import type { PartitionStateStore } from '../state/store.ts'

export type TimerDomain = 'event' | 'processing'

export interface Timer {
  readonly key: string
  readonly domain: TimerDomain
  readonly time: number
  readonly tag: string
}

/**
 * A timer set since the last checkpoint. `live` is cleared when it fires or is deleted: its heap
 * entry stays until its time comes and is skipped then (a timer deleted and set again is a new
 * object, and that one fires).
 */
interface PendingTimer extends Timer {
  live: boolean
}

/** A pending timer: its object, its boxed time, its slot in the key's list and in the heap. */
const TIMER_BYTES = objectBytes(5) + NUMBER_BYTES + 8 + 16
/** A key with pending timers: its Map entry and its list. */
const TIMER_LIST_BYTES = MAP_ENTRY_BYTES + arrayBytes(4)
/** A deleted timer's heap slot still holds its object until the time passes. */
const QUEUED_TIMER_BYTES = objectBytes(5) + NUMBER_BYTES + 16
/** Timers a key keeps in a list before they move to a Map by id. */
const LISTED_TIMERS = 16

const DOMAIN_CODE: Record<TimerDomain, string> = { event: 'e', processing: 'p' }
/** Stored timers decoded at a time from the front of the index. */
const FRONT_TIMERS = 256

interface StoredTimer {
  readonly indexKey: string
  readonly timer: Timer
}

/** A stretch of the index from its first timer not yet fired: entries before `at` were taken. */
interface Front {
  readonly entries: readonly StoredTimer[]
  at: number
  /** Nothing in the index after these entries. */
  readonly last: boolean
}

/** A timer's identity within its key, for keys with many timers. */
function timerId(domain: TimerDomain, time: number, tag: string): string {
  return `${domain}\u0000${time}\u0000${tag}`
}

function findIn(timers: PendingTimer[] | Map<string, PendingTimer>, domain: TimerDomain, time: number, tag: string): PendingTimer | undefined {
  if (!Array.isArray(timers)) return timers.get(timerId(domain, time, tag))
  for (const timer of timers) if (timer.time === time && timer.domain === domain && timer.tag === tag) return timer
  return undefined
}

export function compareTimers(left: Timer, right: Timer): number {
  return left.time - right.time || compareStrings(left.key, right.key) || compareStrings(left.tag, right.tag)
}

/**
 * A keyed operator's timers, unique per (key, domain, time, tag). Those set since the last
 * checkpoint are in the heap; a checkpoint moves them into the state store, into an index ordered
 * by time (`<prefix>t/<domain>/<time>/<key>\0<tag>`), so the heap holds a checkpoint's worth of
 * timers however many are pending, and firing what is due reads the front of the index, never
 * every key: a few hundred timers decoded at a time, so a watermark that moves with every event
 * does not cost a read each. A stored timer that fires or is deleted is remembered until the next
 * checkpoint deletes it from the index.
 */
export class TimerQueue {
  /**
   * Pending timers by key. A key usually has few (a notification's timeout, a visitor's pages),
   * and a short list finds duplicates and deletions without building an id string per timer,
   * which cost more than the rest of setting one. A key with more (a bot's thousand pages within
   * the out-of-orderness) moves to a Map by id, so its timers do not cost a scan each.
   */
  private byKey = new Map<string, PendingTimer[] | Map<string, PendingTimer>>()
  private queues = { event: new MinHeap<PendingTimer>(), processing: new MinHeap<PendingTimer>() }
  private pending = 0
  /** Index keys of stored timers fired or deleted since the last checkpoint. */
  private gone = new Set<string>()
  /** No stored timer of the domain is due before this (a lower bound: it may since have gone). */
  private nextStored: Record<TimerDomain, number> = { event: Infinity, processing: Infinity }
  /** The front of each domain's index, decoded: what is due next is taken from here without a read. */
  private fronts: Record<TimerDomain, Front | undefined> = { event: undefined, processing: undefined }
  private live = 0
  private readonly writer = new ByteWriter(128)

  constructor(
    private readonly store: PartitionStateStore,
    private readonly prefix: string,
  ) {}

  /** Timers set and neither fired nor deleted. */
  get count(): number {
    return this.live
  }

  /** No timer of the domain is due before this. */
  nextDue(domain: TimerDomain): number {
    return Math.min(this.queues[domain].peekPriority(), this.nextStored[domain])
  }

  has(key: string, domain: TimerDomain, time: number, tag: string): boolean {
    return this.findPending(key, domain, time, tag) !== undefined || this.findStored(key, domain, time, tag) !== undefined
  }

  set(key: string, domain: TimerDomain, time: number, tag: string): void {
    if (this.has(key, domain, time, tag)) return
    const timers = this.byKey.get(key)
    const timer: PendingTimer = { key, domain, time, tag, live: true }
    if (timers === undefined) this.byKey.set(key, [timer])
    else if (!Array.isArray(timers)) timers.set(timerId(domain, time, tag), timer)
    else if (timers.length < LISTED_TIMERS) timers.push(timer)
    else this.byKey.set(key, new Map([...timers, timer].map((each) => [timerId(each.domain, each.time, each.tag), each])))
    this.pending++
    this.live++
    this.queues[domain].push(time, timer)
  }

  delete(key: string, domain: TimerDomain, time: number, tag: string): void {
    const pending = this.findPending(key, domain, time, tag)
    if (pending !== undefined) {
      this.unlist(pending)
      return
    }
    const stored = this.findStored(key, domain, time, tag)
    if (stored === undefined) return
    this.gone.add(stored)
    this.live--
  }

  /** Takes every timer of the domain due at `until` off the queue, into `due` (unordered). */
  collect(domain: TimerDomain, until: number, due: Timer[]): void {
    const queue = this.queues[domain]
    while (queue.size > 0 && queue.peekPriority() <= until) {
      const timer = queue.pop()!
      if (!timer.live) continue // deleted (or deleted and set again: the newer entry fires)
      this.unlist(timer)
      due.push(timer)
    }
    if (this.nextStored[domain] > until) return
    for (let head = this.storedHead(domain); head !== undefined && head.timer.time <= until; head = this.storedHead(domain)) {
      this.fronts[domain]!.at++
      this.gone.add(head.indexKey)
      this.live--
      due.push(head.timer)
    }
    this.nextStored[domain] = this.storedHead(domain)?.timer.time ?? Infinity
  }

  /** Hands the timers set, fired and deleted since the last call to a checkpoint, as index entries. */
  changes(into: Map<string, Uint8Array | null>): void {
    // Deletions first: a stored timer deleted and set again is written back by the loop below.
    for (const key of this.gone) into.set(key, null)
    for (const timers of this.byKey.values()) {
      for (const timer of Array.isArray(timers) ? timers : timers.values()) {
        into.set(this.indexKey(timer.key, timer.domain, timer.time, timer.tag), this.encode(timer))
        if (timer.time < this.nextStored[timer.domain]) this.nextStored[timer.domain] = timer.time
      }
    }
    this.gone = new Set()
    this.clearPending()
    // Read again when next needed: the index now has these, and no longer what went.
    this.fronts = { event: undefined, processing: undefined }
  }

  /** Starts over from what the store holds: `live` timers, all of them in the index. */
  reset(live: number): void {
    this.gone = new Set()
    this.clearPending()
    this.live = live
    this.fronts = { event: undefined, processing: undefined }
    this.nextStored = { event: this.storedHead('event')?.timer.time ?? Infinity, processing: this.storedHead('processing')?.timer.time ?? Infinity }
  }

  /** Estimated heap of the pending timers (those stored cost nothing here), and of the index keys gone since the checkpoint. */
  heapBytes(): number {
    const queued = this.queues.event.size + this.queues.processing.size
    return this.pending * TIMER_BYTES + this.byKey.size * TIMER_LIST_BYTES + Math.max(0, queued - this.pending) * QUEUED_TIMER_BYTES + this.gone.size * (MAP_ENTRY_BYTES + 64)
  }

  private clearPending(): void {
    this.byKey = new Map()
    this.queues = { event: new MinHeap(), processing: new MinHeap() }
    this.pending = 0
  }

  private findPending(key: string, domain: TimerDomain, time: number, tag: string): PendingTimer | undefined {
    const timers = this.byKey.get(key)
    return timers === undefined ? undefined : findIn(timers, domain, time, tag)
  }

  /** The index key of a stored timer that has not gone, if there is one. */
  private findStored(key: string, domain: TimerDomain, time: number, tag: string): string | undefined {
    // No live stored timer is due before nextStored: one earlier cannot be in the index.
    if (time < this.nextStored[domain]) return undefined
    const indexKey = this.indexKey(key, domain, time, tag)
    if (this.gone.has(indexKey) || this.store.get(indexKey) === undefined) return undefined
    return indexKey
  }

  /** Takes a pending timer off its key's timers (it fired or was deleted); its heap entry is skipped when popped. */
  private unlist(timer: PendingTimer): void {
    timer.live = false
    this.pending--
    this.live--
    const timers = this.byKey.get(timer.key)!
    if (Array.isArray(timers)) {
      if (timers.length === 1) this.byKey.delete(timer.key)
      else timers.splice(timers.indexOf(timer), 1)
    } else {
      timers.delete(timerId(timer.domain, timer.time, timer.tag))
      if (timers.size === 0) this.byKey.delete(timer.key)
    }
  }

  /** The first stored timer of the domain that has not gone, reading the next stretch of the index when the front runs out. */
  private storedHead(domain: TimerDomain): StoredTimer | undefined {
    let front = this.fronts[domain] ?? (this.fronts[domain] = this.readFront(domain))
    for (;;) {
      while (front.at < front.entries.length && this.gone.has(front.entries[front.at]!.indexKey)) front.at++
      if (front.at < front.entries.length) return front.entries[front.at]
      if (front.last) return undefined
      // The smallest key after the last one read.
      front = this.fronts[domain] = this.readFront(domain, `${front.entries.at(-1)!.indexKey}\u0000`)
    }
  }

  private readFront(domain: TimerDomain, from?: string): Front {
    const entries: StoredTimer[] = []
    const base = this.domainPrefix(domain)
    for (const { key, value } of this.store.range(base, from === undefined ? {} : { from })) {
      if (entries.length === FRONT_TIMERS) return { entries, at: 0, last: false }
      if (!this.gone.has(key)) entries.push({ indexKey: key, timer: this.decode(value, domain) })
    }
    return { entries, at: 0, last: true }
  }

  private domainPrefix(domain: TimerDomain): string {
    return `${this.prefix}t/${DOMAIN_CODE[domain]}/`
  }

  private indexKey(key: string, domain: TimerDomain, time: number, tag: string): string {
    return `${this.domainPrefix(domain)}${sortableDouble(time)}/${key}\u0000${tag}`
  }

  /** The time, key and tag again (a key with a NUL in it would make the index key ambiguous to split). */
  private encode(timer: Timer): Uint8Array {
    this.writer.reset()
    this.writer.f64(timer.time)
    this.writer.string(timer.key)
    this.writer.string(timer.tag)
    return this.writer.finish()
  }

  private decode(bytes: Uint8Array, domain: TimerDomain): Timer {
    const reader = new ByteReader(bytes)
    const time = reader.f64()
    const key = reader.string()
    const tag = reader.string()
    return { key, domain, time, tag }
  }
}
