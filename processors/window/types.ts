import type { PartitionStateStore } from '../state/store.ts'
import type { ByteReader, ByteWriter } from '../state/bytes.ts'

/**
 * Public types of the windowing engine. Everything here is plain data: the operator never does
 * I/O, never reads a clock of its own and never throws for bad input; it returns emissions.
 */

/**
 * One aggregate function. `add` and `merge` return the accumulator so that immutable ones
 * (a number for count/sum) and mutable ones (a sketch object) share one shape.
 * `bytes`, when present, marks the accumulator as variable-size: the operator re-measures it
 * after every update to enforce its state bound. Without it the size is taken as fixed.
 */
export interface Aggregator<In, Accumulator, Result> {
  /** Stable identifier written into snapshots, so restoring into a different spec is refused. */
  readonly kind: string
  create(): Accumulator
  add(accumulator: Accumulator, event: In): Accumulator
  merge(into: Accumulator, from: Accumulator): Accumulator
  /**
   * The row's value. `timing` is for accumulators that emit only what changed since their last
   * row on early and late firings (a breakdown); the others ignore it. Without it, as for a final row.
   */
  result(accumulator: Accumulator, timing?: FiringTiming): Result
  /** Writes the accumulator into the snapshot being written (the operator frames it). */
  serialize(accumulator: Accumulator, writer: ByteWriter): void
  /** Reads one accumulator; the reader holds exactly what `serialize` wrote. */
  deserialize(reader: ByteReader): Accumulator
  bytes?(accumulator: Accumulator): number
  /**
   * For accumulators that grow with their window (exact sets): what changed since the accumulator
   * was last written, so a checkpoint of an open window writes what its events added, not all of
   * it again. Without it a window's record holds the whole accumulator each time it changed.
   */
  readonly changes?: AccumulatorChanges<Accumulator>
}

/**
 * `write` writes what changed since the accumulator was last serialized, deserialized or written
 * with `write`, and starts over from there; `apply` folds what `write` wrote into the accumulator
 * those earlier writes read back to, giving the accumulator as it was at the `write`. Tracking
 * starts at the first `serialize` or `deserialize`, so an accumulator never written costs nothing.
 */
export interface AccumulatorChanges<Accumulator> {
  write(accumulator: Accumulator, writer: ByteWriter): void
  apply(accumulator: Accumulator, reader: ByteReader): Accumulator
}

// The accumulator type is erased at the operator boundary; `any` is the only sound spelling here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAggregator<In> = Aggregator<In, any, unknown>

export type AggregateSpec<In> = Record<string, AnyAggregator<In>>

export type AggregateValues<Aggregates> = {
  [Name in keyof Aggregates]: Aggregates[Name] extends Aggregator<never, unknown, infer Result> ? Result : never
}

export type WindowAssigner =
  | { readonly type: 'tumbling'; readonly sizeMs: number; readonly offsetMs: number }
  | { readonly type: 'hopping'; readonly sizeMs: number; readonly slideMs: number; readonly offsetMs: number }
  | { readonly type: 'session'; readonly gapMs: number }

export interface StateLimits {
  /** Most keys one window may hold (for sessions: most keys with an open session). */
  readonly maxKeysPerWindow: number
  /** Most estimated bytes of window state the operator may hold. */
  readonly maxStateBytes: number
}

export interface WindowSpec<In, Aggregates extends AggregateSpec<In>> {
  readonly assigner: WindowAssigner
  readonly key: (event: In) => string
  readonly time: (event: In) => number
  readonly aggregates: Aggregates
  readonly outOfOrdernessMs: number
  readonly allowedLatenessMs: number
  readonly idleTimeoutMs: number
  /** Provisional results every so many ms of processing time; omit for none. */
  readonly earlyFiringMs?: number
  readonly limits?: Partial<StateLimits>
  /**
   * Where fired tumbling and hopping windows wait out the allowed lateness: the partition's state
   * store, under a prefix of the operator's own. Without it every window stays in the heap.
   */
  readonly storage?: OperatorStorage
}

/** Where an operator keeps state off the heap: the partition's state store, under a prefix of its own. */
export interface OperatorStorage {
  readonly store: PartitionStateStore
  readonly prefix: string
}

export type PartitionId = string | number

/** early: provisional, before the watermark; final: the watermark passed the end; late: a later update. */
export type FiringTiming = 'early' | 'final' | 'late'

export interface ResultRow<Values> {
  readonly windowStart: number
  readonly windowEnd: number
  readonly key: string
  readonly values: Values
  /** Order of rows for one (windowStart, windowEnd, key); see README "Revisions". */
  readonly revision: number
  readonly final: boolean
  readonly timing: FiringTiming
}

export type LateReason = 'beyond-allowed-lateness'
export type OverflowReason = 'keys-per-window' | 'state-bytes'
export type InvalidReason = 'invalid-event-time' | 'invalid-key'

export type Emission<In, Values> =
  | { readonly kind: 'result'; readonly row: ResultRow<Values> }
  /** A session row that a merge superseded: downstream deletes (windowStart, windowEnd, key). */
  | {
      readonly kind: 'retract'
      readonly windowStart: number
      readonly windowEnd: number
      readonly key: string
      readonly revision: number
    }
  | {
      readonly kind: 'late'
      readonly event: In
      readonly reason: LateReason
      /** How far the watermark was past the event's time when it arrived. */
      readonly latenessMs: number
      readonly windowStart: number
      readonly windowEnd: number
      readonly watermark: number
    }
  | {
      readonly kind: 'overflow'
      readonly event: In
      readonly reason: OverflowReason
      readonly key: string
      readonly windowStart: number
      readonly windowEnd: number
    }
  | { readonly kind: 'invalid'; readonly event: In; readonly reason: InvalidReason }

export interface OperatorCounters {
  late: number
  overflowKeysPerWindow: number
  overflowStateBytes: number
  invalid: number
  retractions: number
}

export interface OperatorStats extends OperatorCounters {
  readonly watermark: number
  readonly stateBytes: number
  readonly windows: number
  readonly keys: number
}

export type RestoreResult = { readonly ok: true } | { readonly ok: false; readonly reason: string }
