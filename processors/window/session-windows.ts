import { ByteReader, ByteWriter, compareStrings } from '../state/bytes.ts'
import { MinHeap } from '../collections/min-heap.ts'
import type { Emission } from './types.ts'
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
 */

interface TimerEntry {
  readonly state: WindowState
  readonly version: number
}

/** The per-key Map entry. */
const KEY_BYTES = 96

export class SessionWindows<In, Values> {
  /** Per key, the earliest session; later ones follow through `next` (rarely more than one). */
  private readonly sessions = new Map<string, WindowState>()
  private readonly timers = new MinHeap<TimerEntry>()
  private sessionCount = 0

  constructor(
    private readonly context: StateContext<In>,
    private readonly gapMs: number,
    private readonly allowedLatenessMs: number,
  ) {}

  get nextTimer(): number {
    return this.timers.peekPriority()
  }

  get windows(): number {
    return this.sessionCount
  }

  get keys(): number {
    return this.sessions.size
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
    const head = this.sessions.get(key)
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
      const reason = context.admitNew(key, head === undefined ? this.sessions.size : 0, head === undefined ? KEY_BYTES : 0)
      if (reason !== null) {
        out.push({ kind: 'overflow', event, reason, key, windowStart: time, windowEnd: end })
        return
      }
      if (head === undefined) context.totalBytes += KEY_BYTES
      const state = context.create(key, time, end, end <= watermark)
      if (before === null) {
        state.next = head ?? null
        this.sessions.set(key, state)
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
    const head = this.sessions.get(state.key) as WindowState
    if (head === state) {
      if (state.next === null) {
        this.sessions.delete(state.key)
        this.context.totalBytes -= KEY_BYTES
      } else this.sessions.set(state.key, state.next)
      return
    }
    let node = head
    while (node.next !== state) node = node.next as WindowState
    node.next = state.next
  }

  snapshot(writer: ByteWriter): void {
    const keys = [...this.sessions.keys()].sort(compareStrings)
    writer.u32(keys.length)
    for (const key of keys) {
      const chain: WindowState[] = []
      for (let node = this.sessions.get(key) ?? null; node !== null; node = node.next) chain.push(node)
      writer.string(key)
      writer.u32(chain.length)
      for (const state of chain) this.context.writeState(writer, state)
    }
  }

  /** Sessions are in the heap whatever the store, so their layout is the same in every format. */
  get spilledBytes(): number {
    return 0
  }

  changes(_into: Map<string, Uint8Array | null>): void {}

  restore(reader: ByteReader, _format: number): void {
    this.sessions.clear()
    this.timers.clear()
    this.sessionCount = 0
    const restored: WindowState[] = []
    for (let remaining = reader.u32(); remaining > 0; remaining--) {
      const key = reader.string()
      let previous: WindowState | null = null
      for (let count = reader.u32(); count > 0; count--) {
        const state = this.context.readState(reader, key)
        if (previous === null) this.sessions.set(key, state)
        else previous.next = state
        previous = state
        restored.push(state)
        this.sessionCount++
      }
      this.context.totalBytes += KEY_BYTES
    }
    restored.sort(compareStates)
    for (const state of restored) this.schedule(state)
  }
}
