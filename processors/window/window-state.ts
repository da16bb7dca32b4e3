import { ByteReader, ByteWriter, compareStrings } from '../state/bytes.ts'
import type { AnyAggregator, Emission, FiringTiming, OperatorCounters, OverflowReason, StateLimits } from './types.ts'

/**
 * Per (window, key) state and the bookkeeping shared by the aligned and session stores:
 * aggregation, the byte estimate behind the state bound, dirty tracking for early and late
 * firings, and row emission with revisions.
 *
 * Revisions: revision = 2 × (events aggregated into the row) + (early ? 0 : 1). A row's event count
 * only grows, so later final/late rows outrank earlier ones; an early (provisional) row is even, and
 * can never reach the odd revision of the final row, which holds at least as many events. It all
 * follows from which events were included, never from processing time.
 */

export interface WindowState {
  readonly key: string
  start: number
  end: number
  accumulators: unknown[]
  events: number
  bytes: number
  /** Changed since the last emitted row. */
  dirty: boolean
  /** A row for the current (start, end) has been emitted; a session that changes shape must retract it. */
  emitted: boolean
  /** The watermark has passed `end` and the final row was emitted (or the state was born late). */
  fired: boolean
  /** Merged away or purged; stale references in dirty lists and timers skip it. */
  dead: boolean
  /** Session bookkeeping (unused by aligned windows): timer, and the key's next session by start. */
  timerAt: number
  timerVersion: number
  next: WindowState | null
  /** Aligned windows with a state store: what the store holds of this state (null: nothing yet). */
  saved: SavedRecords | null
  /** Changed since its last record in the store (aligned windows with a state store). */
  unsaved: boolean
}

/** A state's records in the store (window-records.ts): how many, the whole one's bytes and the changes' after it. */
export interface SavedRecords {
  count: number
  wholeBytes: number
  changeBytes: number
}

/** A state's flags as whole states and their changes write them. */
const DIRTY = 1
const EMITTED = 2
const FIRED = 4

function flagsOf(state: WindowState): number {
  return (state.dirty ? DIRTY : 0) | (state.emitted ? EMITTED : 0) | (state.fired ? FIRED : 0)
}

/** Rough V8 costs: object header and fields, the accumulator array, the Map entry holding it. */
const STATE_OVERHEAD_BYTES = 160
const FIXED_ACCUMULATOR_BYTES = 16

export function revisionOf(events: number, timing: FiringTiming): number {
  return events * 2 + (timing === 'early' ? 0 : 1)
}

export function compareStates(left: WindowState, right: WindowState): number {
  return left.end - right.end || left.start - right.start || compareStrings(left.key, right.key)
}

export class StateContext<In> {
  readonly aggregators: AnyAggregator<In>[]
  readonly names: string[]
  private readonly variable: number[] = []
  private readonly fixedBytes: number
  private readonly freshVariableBytes: number
  totalBytes = 0
  readonly counters: OperatorCounters = {
    late: 0,
    overflowKeysPerWindow: 0,
    overflowStateBytes: 0,
    invalid: 0,
    retractions: 0,
  }
  /** States that became dirty before their final firing; consumed by early firings. */
  earlyDirty: WindowState[] = []
  /** States that changed after firing; flushed as late rows at the end of every call. */
  lateDirty: WindowState[] = []
  /** Told of every change to a state (an event, a merge, a row emitted): what a store must write again. */
  onChange: ((state: WindowState) => void) | undefined = undefined

  constructor(
    aggregates: Record<string, AnyAggregator<In>>,
    readonly limits: StateLimits,
    readonly trackEarly: boolean,
  ) {
    this.names = Object.keys(aggregates)
    this.aggregators = this.names.map((name) => aggregates[name] as AnyAggregator<In>)
    let fixed = STATE_OVERHEAD_BYTES
    let fresh = 0
    this.aggregators.forEach((aggregator, index) => {
      if (aggregator.bytes === undefined) fixed += FIXED_ACCUMULATOR_BYTES
      else {
        this.variable.push(index)
        fresh += aggregator.bytes(aggregator.create())
      }
    })
    this.fixedBytes = fixed
    this.freshVariableBytes = fresh
  }

  get hasVariableSize(): boolean {
    return this.variable.length > 0
  }

  /** Some accumulator writes what changed rather than itself (Aggregator.changes): a state's records can be changes. */
  get writesChanges(): boolean {
    return this.aggregators.some((aggregator) => aggregator.changes !== undefined)
  }

  /** Why a new state for `key` may not be created, or null if it may. */
  admitNew(key: string, keysInWindow: number, extraBytes: number): OverflowReason | null {
    if (keysInWindow >= this.limits.maxKeysPerWindow) {
      this.counters.overflowKeysPerWindow++
      return 'keys-per-window'
    }
    const bytes = this.fixedBytes + key.length * 2 + this.freshVariableBytes + extraBytes
    if (this.totalBytes + bytes > this.limits.maxStateBytes) {
      this.counters.overflowStateBytes++
      return 'state-bytes'
    }
    return null
  }

  /**
   * Updates to existing state. Fixed-size accumulators do not grow, so they are always admitted;
   * with a variable-size one (exact distinct, sketches) nothing is admitted at the byte limit.
   */
  admitUpdate(): OverflowReason | null {
    if (this.variable.length > 0 && this.totalBytes >= this.limits.maxStateBytes) {
      this.counters.overflowStateBytes++
      return 'state-bytes'
    }
    return null
  }

  create(key: string, start: number, end: number, fired: boolean): WindowState {
    const accumulators = new Array<unknown>(this.aggregators.length)
    for (let index = 0; index < this.aggregators.length; index++) {
      accumulators[index] = (this.aggregators[index] as AnyAggregator<In>).create()
    }
    return this.adopt(key, start, end, accumulators, 0, fired)
  }

  /** A state from its parts; `accounted` false for one already in totalBytes (read back from the store). */
  adopt(key: string, start: number, end: number, accumulators: unknown[], events: number, fired: boolean, accounted = true): WindowState {
    const state: WindowState = {
      key,
      start,
      end,
      accumulators,
      events,
      bytes: 0,
      dirty: false,
      emitted: false,
      fired,
      dead: false,
      timerAt: Infinity,
      timerVersion: 0,
      next: null,
      saved: null,
      unsaved: false,
    }
    state.bytes = this.measure(state)
    if (accounted) this.totalBytes += state.bytes
    return state
  }

  measure(state: WindowState): number {
    let bytes = this.fixedBytes + state.key.length * 2
    for (const index of this.variable) {
      const aggregator = this.aggregators[index] as AnyAggregator<In>
      bytes += (aggregator.bytes as (accumulator: unknown) => number)(state.accumulators[index])
    }
    return bytes
  }

  remeasure(state: WindowState): void {
    const bytes = this.measure(state)
    this.totalBytes += bytes - state.bytes
    state.bytes = bytes
  }

  apply(state: WindowState, event: In): void {
    const accumulators = state.accumulators
    const aggregators = this.aggregators
    for (let index = 0; index < aggregators.length; index++) {
      accumulators[index] = (aggregators[index] as AnyAggregator<In>).add(accumulators[index], event)
    }
    state.events++
    if (this.variable.length > 0) this.remeasure(state)
    this.markDirty(state)
    this.onChange?.(state)
  }

  /** Folds `from` into `into` (sessions). `from` is released. */
  merge(into: WindowState, from: WindowState): void {
    for (let index = 0; index < this.aggregators.length; index++) {
      const aggregator = this.aggregators[index] as AnyAggregator<In>
      into.accumulators[index] = aggregator.merge(into.accumulators[index], from.accumulators[index])
    }
    into.events += from.events
    this.release(from)
    this.remeasure(into)
    this.onChange?.(into)
  }

  markDirty(state: WindowState): void {
    if (state.dirty) return
    state.dirty = true
    if (state.fired) this.lateDirty.push(state)
    else if (this.trackEarly) this.earlyDirty.push(state)
  }

  /**
   * A firing still owes the state a row from one of the dirty lists (an early firing, or the late
   * flush), so it must stay where the list can reach it. Without early firings an open session's
   * changes wait for its final row, which is taken from the state itself.
   */
  owesRow(state: WindowState): boolean {
    return state.dirty && (state.fired || this.trackEarly)
  }

  release(state: WindowState): void {
    state.dead = true
    this.totalBytes -= state.bytes
  }

  emit<Values>(state: WindowState, timing: FiringTiming, out: Emission<In, Values>[]): void {
    const values: Record<string, unknown> = {}
    for (let index = 0; index < this.aggregators.length; index++) {
      values[this.names[index] as string] = (this.aggregators[index] as AnyAggregator<In>).result(state.accumulators[index], timing)
    }
    out.push({
      kind: 'result',
      row: {
        windowStart: state.start,
        windowEnd: state.end,
        key: state.key,
        values: values as Values,
        revision: revisionOf(state.events, timing),
        final: timing !== 'early',
        timing,
      },
    })
    state.dirty = false
    state.emitted = true
    this.onChange?.(state)
  }

  /** Late rows for every state changed after its firing, in (end, start, key) order. */
  flushLate<Values>(out: Emission<In, Values>[]): void {
    if (this.lateDirty.length === 0) return
    const pending = this.lateDirty.filter((state) => state.dirty && state.fired && !state.dead)
    this.lateDirty = []
    pending.sort(compareStates)
    for (const state of pending) if (state.dirty) this.emit(state, 'late', out)
  }

  /** Provisional rows for every state changed since its last row and not yet final. */
  flushEarly<Values>(out: Emission<In, Values>[]): void {
    const pending = this.earlyDirty.filter((state) => state.dirty && !state.fired && !state.dead)
    this.earlyDirty = []
    pending.sort(compareStates)
    for (const state of pending) if (state.dirty) this.emit(state, 'early', out)
  }

  /** Keeps the early list from outgrowing the live state when nobody calls onProcessingTime. */
  compactEarly(liveStates: number): void {
    if (this.earlyDirty.length > liveStates * 2 + 1024) {
      this.earlyDirty = this.earlyDirty.filter((state) => state.dirty && !state.fired && !state.dead)
    }
  }

  writeState(writer: ByteWriter, state: WindowState): void {
    writer.f64(state.start)
    writer.f64(state.end)
    writer.f64(state.events)
    writer.u8(flagsOf(state))
    for (let index = 0; index < this.aggregators.length; index++) {
      const aggregator = this.aggregators[index] as AnyAggregator<In>
      const accumulator = state.accumulators[index]
      writer.section(() => aggregator.serialize(accumulator, writer))
    }
  }

  /**
   * What changed in the state since writeState or writeChanges last wrote it: its event count and
   * flags, and each accumulator's changes (the accumulator itself for one that has none).
   */
  writeChanges(writer: ByteWriter, state: WindowState): void {
    writer.f64(state.events)
    writer.u8(flagsOf(state))
    for (let index = 0; index < this.aggregators.length; index++) {
      const aggregator = this.aggregators[index] as AnyAggregator<In>
      const accumulator = state.accumulators[index]
      const changes = aggregator.changes
      writer.section(() => (changes === undefined ? aggregator.serialize(accumulator, writer) : changes.write(accumulator, writer)))
    }
  }

  /** Folds what writeChanges wrote into a state read back before it; the caller measures the state once all are applied. */
  applyChanges(reader: ByteReader, state: WindowState): void {
    state.events = reader.f64()
    const flags = reader.u8()
    for (let index = 0; index < this.aggregators.length; index++) {
      const aggregator = this.aggregators[index] as AnyAggregator<In>
      const changes = aggregator.changes
      state.accumulators[index] = reader.section((section) => (changes === undefined ? aggregator.deserialize(section) : changes.apply(state.accumulators[index], section)))
    }
    state.emitted = (flags & EMITTED) !== 0
    state.fired = (flags & FIRED) !== 0
    // Listed again by what it is now (a state may have fired since): the dirty lists skip a state
    // no longer dirty, and a firing emits a state listed twice once.
    state.dirty = false
    if ((flags & DIRTY) !== 0) this.markDirty(state)
  }

  /** Reads what writeState wrote; `accounted` false for a state already in totalBytes. */
  readState(reader: ByteReader, key: string, accounted = true): WindowState {
    const start = reader.f64()
    const end = reader.f64()
    const events = reader.f64()
    const flags = reader.u8()
    const accumulators = this.aggregators.map((aggregator) => reader.section((section) => aggregator.deserialize(section)))
    const state = this.adopt(key, start, end, accumulators, events, (flags & FIRED) !== 0, accounted)
    state.emitted = (flags & EMITTED) !== 0
    if ((flags & DIRTY) !== 0) this.markDirty(state)
    return state
  }
}
