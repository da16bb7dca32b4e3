import { ByteReader, ByteWriter, compareStrings } from '../state/bytes.ts'
import { MinHeap } from '../collections/min-heap.ts'
import { STORED_SESSIONS_FORMAT_VERSION } from './formats.ts'
import { readChain, SessionStoreKeys, writeChain } from './session-chains.ts'
import type { Emission, OperatorStorage } from './types.ts'
import { IdleQueue } from './idle-queue.ts'
import { compareStates, revisionOf, type StateContext, type WindowState } from './window-state.ts'

/**
 * Session windows: per key, a start-ordered chain of non-overlapping sessions [first event, last event + gap).
 *
 * Lateness is judged on the event's own time: an event older than watermark − allowed lateness is
 * late. That guarantees it could only have joined sessions already purged, so an accepted event
 * never lands beside a forgotten session and splits it (a window-end rule would allow that).
 *
 * When an event extends a session or bridges several, the session's (start, end) changes; every
 * superseded shape that was already emitted gets a `retract` with a revision above anything it had.
 * So does every start that disappears (an earlier event, a merge), emitted or not: which shapes a
 * run emitted depends on processing time, so a replay after a restart cannot know which rows the
 * run before it left at those starts. Downstream keys sessions by (key, start); a retraction of a
 * start nobody wrote is a harmless tombstone.
 *
 * Timers: one heap entry per session at its due time (end, or end + lateness once fired). Ends only
 * grow, so entries are rescheduled lazily when popped; an earlier due time pushes a fresh entry and
 * bumps the version so the old one is skipped.
 *
 * With a state store, the chains live in it: `<prefix>s/<key>`, with an index of their earliest due
 * time, `<prefix>d/<due>/<key>`. The heap caches the keys active now; a checkpoint writes the
 * chains changed since the last one (an event, a firing, a purge) and lets go of those idle for
 * a thirtieth of the gap (event time) that owe no early or late row, so the heap holds the
 * visitors of the last minute, not the whole 30-minute gap of them, and the checkpoint costs what
 * changed, not every open session. A key not in the heap is read back on its next event, or when
 * the watermark reaches its due time (read from the index past where the last read stopped, never
 * by scanning keys). Where a chain lives never changes a decision: the state bound and the key
 * limit count both.
 */

interface TimerEntry {
  readonly state: WindowState
  readonly version: number
}

/** The per-key Map entry. */
const KEY_BYTES = 96
/**
 * The share of the gap a key must have been quiet (in event time) before its chain moves to the
 * store: a minute of the clickstream's 30. Most visitors who will click again do so within it; one
 * written and read back costs two store operations, one kept costs heap for the rest of its gap.
 */
const SPILL_IDLE_SHARE = 1 / 30

/** Stale timer entries (of chains let go of) tolerated beyond twice the heap's sessions before they are dropped. */
const STALE_TIMERS_ALLOWED = 1024
const NO_VALUE = new Uint8Array(0)

export class SessionWindows<In, Values> {
  /** Per key, the earliest session; later ones follow through `next` (rarely more than one). With a store, the keys in the heap. */
  private readonly sessions = new Map<string, WindowState>()
  private readonly timers = new MinHeap<TimerEntry>()
  /** Keys and sessions, in the heap and in the store. */
  private keyCount = 0
  private sessionCount = 0
  /** Keys in the store and not in the heap, the sessions in them and their bytes (KEY_BYTES included). */
  private storedKeys = 0
  private storedSessions = 0
  private storedBytes = 0
  /** No chain only in the store is due before this (a lower bound). */
  private nextStoredDue = Infinity
  /** The index was read up to this due time: every entry at or before it was brought back or skipped (not in the snapshot: a restore starts at the watermark). */
  private indexReadThrough = -Infinity
  /** Keys changed since the last checkpoint (purged ones too): their store entries are out of date. */
  private touched = new Set<string>()
  /** The keys in the heap, roughly by last event: where a checkpoint looks for idle chains. */
  private readonly idle = new IdleQueue()
  /** For keys in the heap, the due time of the index entry the store holds for them, if it holds them (a number: its key string was 10 MB of the soak's heap). */
  private readonly indexed = new Map<string, number>()
  private readonly writer = new ByteWriter(512)
  private readonly storeKeys: SessionStoreKeys | undefined

  constructor(
    private readonly context: StateContext<In>,
    private readonly gapMs: number,
    private readonly allowedLatenessMs: number,
    private readonly storage?: OperatorStorage,
  ) {
    this.storeKeys = storage === undefined ? undefined : new SessionStoreKeys(storage.prefix)
    if (storage !== undefined) context.onChange = (state) => this.touched.add(state.key)
  }

  get nextTimer(): number {
    return Math.min(this.timers.peekPriority(), this.nextStoredDue)
  }

  get windows(): number {
    return this.sessionCount
  }

  get keys(): number {
    return this.keyCount
  }

  add(event: In, key: string, time: number, watermark: number, out: Emission<In, Values>[]): void {
    const context = this.context
    const end = time + this.gapMs
    if (time < watermark - this.allowedLatenessMs) {
      context.counters.late++
      out.push({
        kind: 'late',
        event,
        reason: 'beyond-allowed-lateness',
        latenessMs: watermark - time,
        windowStart: time,
        windowEnd: end,
        watermark,
      })
      return
    }
    let head = this.sessions.get(key)
    if (head === undefined && this.storedKeys > 0) head = this.readBack(key)
    // `before` is the last session entirely before the event; [first, last] the ones it touches.
    let before: WindowState | null = null
    let first: WindowState | null = null
    let last: WindowState | null = null
    for (let node = head ?? null; node !== null; node = node.next) {
      if (node.start < end && time < node.end) {
        if (first === null) first = node
        last = node
      } else if (node.start >= end) break
      else if (first === null) before = node
    }
    if (first === null) {
      const reason = context.admitNew(key, head === undefined ? this.keyCount : 0, head === undefined ? KEY_BYTES : 0)
      if (reason !== null) {
        out.push({ kind: 'overflow', event, reason, key, windowStart: time, windowEnd: end })
        return
      }
      if (head === undefined) {
        context.totalBytes += KEY_BYTES
        this.keyCount++
      }
      const state = context.create(key, time, end, end <= watermark)
      if (before === null) {
        state.next = head ?? null
        this.sessions.set(key, state)
        if (head === undefined && this.storage !== undefined) this.idle.push(key, time)
      } else {
        state.next = before.next
        before.next = state
      }
      this.sessionCount++
      context.apply(state, event)
      this.schedule(state)
      return
    }
    if (first === last && !first.emitted && !first.fired && time >= first.start) {
      // The hot path: an event extending an open session nobody has seen yet. Unfired means its end
      // is past the watermark, so it stays open and its timer (due no later) can stay as it is.
      // An event before the start takes the slow path: the old start must be retracted.
      if (context.hasVariableSize && context.admitUpdate() !== null) {
        out.push({ kind: 'overflow', event, reason: 'state-bytes', key, windowStart: first.start, windowEnd: first.end })
        return
      }
      if (end > first.end) first.end = end
      context.apply(first, event)
      return
    }
    if (context.hasVariableSize && context.admitUpdate() !== null) {
      out.push({ kind: 'overflow', event, reason: 'state-bytes', key, windowStart: first.start, windowEnd: first.end })
      return
    }
    this.extend(first, last as WindowState, event, time, end, watermark, out)
  }

  /** Folds the event and the sessions first..last into `first`, retracting shapes already emitted. */
  private extend(
    first: WindowState,
    last: WindowState,
    event: In,
    time: number,
    end: number,
    watermark: number,
    out: Emission<In, Values>[],
  ): void {
    const context = this.context
    const survivor = first
    const superseded: { start: number; end: number }[] = []
    // A start that disappears is retracted whether or not this run emitted it: a run before a
    // restart may have (early firings and idle ticks follow processing time, which a replay does
    // not repeat), and its row would otherwise stay behind. The event order alone decides.
    if (survivor.emitted || time < survivor.start) superseded.push({ start: survivor.start, end: survivor.end })
    let start = Math.min(survivor.start, time)
    let newEnd = Math.max(survivor.end, end)
    if (first !== last) {
      let node = first.next
      for (;;) {
        const absorbed = node as WindowState
        superseded.push({ start: absorbed.start, end: absorbed.end })
        start = Math.min(start, absorbed.start)
        newEnd = Math.max(newEnd, absorbed.end)
        node = absorbed.next
        context.merge(survivor, absorbed)
        this.sessionCount--
        if (absorbed === last) break
      }
      survivor.next = node
    }
    const reshaped = start !== survivor.start || newEnd !== survivor.end
    survivor.start = start
    survivor.end = newEnd
    const wasFired = survivor.fired
    survivor.fired = newEnd <= watermark
    if (reshaped) survivor.emitted = false
    // A changed fired status moves the state between the early and late dirty lists: clearing the
    // flag makes `apply` file it again under the right one (a stale entry is filtered on flush).
    if (wasFired !== survivor.fired) survivor.dirty = false
    context.apply(survivor, event)
    if (superseded.length > 0) {
      const revision = revisionOf(survivor.events, 'final')
      for (const shape of superseded) {
        if (shape.start === survivor.start && shape.end === survivor.end) continue
        context.counters.retractions++
        out.push({ kind: 'retract', windowStart: shape.start, windowEnd: shape.end, key: survivor.key, revision })
      }
    }
    this.schedule(survivor)
  }

  private dueTime(state: WindowState): number {
    return state.fired ? state.end + this.allowedLatenessMs : state.end
  }

  private schedule(state: WindowState): void {
    const due = this.dueTime(state)
    if (due < state.timerAt) {
      state.timerAt = due
      state.timerVersion++
      this.timers.push(due, { state, version: state.timerVersion })
    }
  }

  advance(watermark: number, out: Emission<In, Values>[]): void {
    if (this.storage !== undefined && watermark >= this.nextStoredDue) this.readDue(watermark)
    const due: WindowState[] = []
    while (this.timers.size > 0 && this.timers.peekPriority() <= watermark) {
      const entry = this.timers.pop() as TimerEntry
      const state = entry.state
      if (state.dead || entry.version !== state.timerVersion) continue
      const time = this.dueTime(state)
      state.timerAt = Infinity
      if (time > watermark) this.schedule(state)
      else due.push(state)
    }
    if (due.length === 0) return
    due.sort((left, right) => left.end - right.end || compareStrings(left.key, right.key) || left.start - right.start)
    for (const state of due) {
      if (!state.fired) {
        state.fired = true
        this.context.emit(state, 'final', out)
      }
      if (state.end + this.allowedLatenessMs <= watermark) this.purge(state, out)
      else this.schedule(state)
    }
    this.context.compactEarly(this.sessionCount)
  }

  private purge(state: WindowState, out: Emission<In, Values>[]): void {
    if (state.dirty) this.context.emit(state, 'late', out)
    this.context.release(state)
    this.sessionCount--
    if (this.storage !== undefined) this.touched.add(state.key)
    const head = this.sessions.get(state.key) as WindowState
    if (head === state) {
      if (state.next === null) {
        this.sessions.delete(state.key)
        this.context.totalBytes -= KEY_BYTES
        this.keyCount--
      } else this.sessions.set(state.key, state.next)
      return
    }
    let node = head
    while (node.next !== state) node = node.next as WindowState
    node.next = state.next
  }

  /** Brings back every chain due by `watermark` that is only in the store: its timers join the heap's, to fire with them. */
  private readDue(watermark: number): void {
    const storeKeys = this.storeKeys!
    const keys: string[] = []
    for (const { key: entry } of this.storage!.store.range(storeKeys.indexPrefix, storeKeys.dueBetween(this.indexReadThrough, watermark))) {
      const key = storeKeys.keyOf(entry)
      // In the heap, its own timers fire it; touched and gone from the heap, it was purged.
      if (!this.sessions.has(key) && !this.touched.has(key)) keys.push(key)
    }
    for (const key of keys) this.readBack(key)
    this.indexReadThrough = watermark
    this.nextStoredDue = this.firstIndexedDue()
  }

  /** The key's chain from the store into the heap, or undefined if the store has none (or an outdated one). */
  private readBack(key: string): WindowState | undefined {
    if (this.touched.has(key)) return undefined
    const bytes = this.storage!.store.get(this.storeKeys!.chain(key))
    if (bytes === undefined) return undefined
    // Already in totalBytes: a stored chain counts in the state bound.
    const { head: first, sessions, bytes: stateBytes } = readChain(new ByteReader(bytes), this.context, key, false)
    this.sessions.set(key, first)
    this.idle.push(key, this.lastEventOf(first))
    this.indexed.set(key, this.chainDue(first))
    this.storedKeys--
    this.storedSessions -= sessions
    this.storedBytes -= KEY_BYTES + stateBytes
    for (let node: WindowState | null = first; node !== null; node = node.next) this.schedule(node)
    return first
  }

  private chainDue(head: WindowState): number {
    let due = Infinity
    for (let node: WindowState | null = head; node !== null; node = node.next) due = Math.min(due, this.dueTime(node))
    return due
  }

  /** Bytes of state kept in the store rather than the heap (counted in the state bound all the same). */
  get spilledBytes(): number {
    return this.storedBytes
  }

  /**
   * Hands a checkpoint what changed: the chains changed since the last one are written (or
   * deleted, if purged), then those idle at `watermark` and owing no row leave the heap.
   */
  changes(into: Map<string, Uint8Array | null>, watermark: number): void {
    if (this.storage === undefined) return
    const writer = this.writer
    for (const key of this.touched) {
      const head = this.sessions.get(key)
      const indexed = this.indexed.get(key)
      if (head === undefined) {
        if (indexed !== undefined) {
          into.set(this.storeKeys!.due(indexed, key), null)
          into.set(this.storeKeys!.chain(key), null)
          this.indexed.delete(key)
        }
        continue
      }
      writer.reset()
      writeChain(writer, this.context, head)
      into.set(this.storeKeys!.chain(key), writer.finish())
      const due = this.chainDue(head)
      if (indexed === undefined || !Object.is(indexed, due)) {
        if (indexed !== undefined) into.set(this.storeKeys!.due(indexed, key), null)
        into.set(this.storeKeys!.due(due, key), NO_VALUE)
        this.indexed.set(key, due)
      }
    }
    this.touched = new Set()
    this.letGoOfIdle(watermark - this.gapMs * SPILL_IDLE_SHARE)
    // A chain let go of leaves its timer entries behind, holding its states until their time comes
    // (the gap and the lateness later): with new visitors every second that was the heap growing
    // with rate × gap. The index fires stored chains, so the entries go as soon as they outnumber
    // the heap's sessions.
    const heapSessions = this.sessionCount - this.storedSessions
    if (this.timers.size > 2 * heapSessions + STALE_TIMERS_ALLOWED) this.timers.retain((entry) => !entry.state.dead && entry.version === entry.state.timerVersion)
  }

  /** The latest event of the chain's sessions (a session's end is its last event + the gap). */
  private lastEventOf(head: WindowState): number {
    let last = -Infinity
    for (let node: WindowState | null = head; node !== null; node = node.next) last = Math.max(last, node.end - this.gapMs)
    return last
  }

  /** Chains with no event since `idleBefore` and owing no row leave the heap: `changes` has just written every one that changed. */
  private letGoOfIdle(idleBefore: number): void {
    const owing: Array<[key: string, lastEvent: number]> = []
    for (let key = this.idle.takeQuietBefore(idleBefore); key !== undefined; key = this.idle.takeQuietBefore(idleBefore)) {
      const head = this.sessions.get(key)
      // Gone already (purged, or let go of and queued again when read back).
      if (head === undefined) continue
      const lastEvent = this.lastEventOf(head)
      // Busy since it was queued: behind the rest, with its last event now.
      if (lastEvent >= idleBefore) {
        this.idle.push(key, lastEvent)
        continue
      }
      let count = 0
      let bytes = KEY_BYTES
      let owes = false
      for (let node: WindowState | null = head; node !== null; node = node.next) {
        if (this.context.owesRow(node)) owes = true
        count++
        bytes += node.bytes
      }
      // Its early or late row comes first; a later checkpoint looks again.
      if (owes) {
        owing.push([key, lastEvent])
        continue
      }
      const due = this.chainDue(head)
      // Its heap timer entries, if any, are skipped when they come up.
      for (let node: WindowState | null = head; node !== null; node = node.next) node.dead = true
      this.sessions.delete(key)
      this.indexed.delete(key)
      this.storedKeys++
      this.storedSessions += count
      this.storedBytes += bytes
      if (due < this.nextStoredDue) this.nextStoredDue = due
    }
    for (const [key, lastEvent] of owing) this.idle.push(key, lastEvent)
  }

  /**
   * Without a store, every chain; with one (after `changes`, which wrote them all), the counts and
   * the keys owing an early row, which a restore brings back so the early firing still comes.
   */
  snapshot(writer: ByteWriter): void {
    const stored = this.storage !== undefined
    const keys = stored ? [] : [...this.sessions.keys()].sort(compareStrings)
    writer.u32(keys.length)
    for (const key of keys) {
      writer.string(key)
      writeChain(writer, this.context, this.sessions.get(key)!)
    }
    writer.f64(this.keyCount)
    writer.f64(this.sessionCount)
    // Every chain's bytes and KEY_BYTES, heap and store: what the session state weighs in the bound.
    writer.f64(stored ? this.context.totalBytes : 0)
    const owing = stored ? [...this.sessions].filter(([, head]) => this.owesRow(head)).map(([key]) => key).sort(compareStrings) : []
    writer.u32(owing.length)
    for (const key of owing) writer.string(key)
  }

  private owesRow(head: WindowState): boolean {
    for (let node: WindowState | null = head; node !== null; node = node.next) if (this.context.owesRow(node)) return true
    return false
  }

  /**
   * Restores a snapshot of `format` 3 (chains in the store), or of an earlier one (every session
   * inside). After any call no chain only in the store is due by the watermark, so the index is
   * read from there on.
   */
  restore(reader: ByteReader, format: number, watermark: number): void {
    this.sessions.clear()
    this.timers.clear()
    this.keyCount = 0
    this.sessionCount = 0
    this.storedKeys = 0
    this.storedSessions = 0
    this.storedBytes = 0
    this.nextStoredDue = Infinity
    this.indexReadThrough = watermark
    this.touched = new Set()
    this.idle.clear()
    this.indexed.clear()
    const restored: WindowState[] = []
    for (let remaining = reader.u32(); remaining > 0; remaining--) {
      const key = reader.string()
      const chain = readChain(reader, this.context, key, true)
      this.sessions.set(key, chain.head)
      for (let node: WindowState | null = chain.head; node !== null; node = node.next) restored.push(node)
      this.sessionCount += chain.sessions
      this.context.totalBytes += KEY_BYTES
      this.keyCount++
      // Not in the store yet (a checkpoint of before the store): the next checkpoint writes it.
      if (this.storage !== undefined) {
        this.touched.add(key)
        this.idle.push(key, this.lastEventOf(chain.head))
      }
    }
    if (format >= STORED_SESSIONS_FORMAT_VERSION) {
      const keys = reader.f64()
      const sessions = reader.f64()
      const bytes = reader.f64()
      const owing: string[] = []
      for (let count = reader.u32(); count > 0; count--) owing.push(reader.string())
      if (this.storage !== undefined) {
        this.keyCount = keys
        this.sessionCount = sessions
        this.storedKeys = keys
        this.storedSessions = sessions
        this.storedBytes = bytes
        this.context.totalBytes += bytes
        for (const key of owing) this.readBack(key)
        this.nextStoredDue = this.firstIndexedDue()
      }
    }
    restored.sort(compareStates)
    for (const state of restored) this.schedule(state)
  }

  /** The first index entry after where the index was read: no chain only in the store is due before it. */
  private firstIndexedDue(): number {
    const storeKeys = this.storeKeys!
    for (const { key } of this.storage!.store.range(storeKeys.indexPrefix, storeKeys.dueAfter(this.indexReadThrough))) return storeKeys.dueOf(key)
    return Infinity
  }
}
