import type { EventByStream } from '../core/codec/avro-codec.ts'
import type { Stream } from '../schemas/avro/catalog.ts'
import type { PartitionStateStore } from './state/store.ts'
import type { Topology } from './topology/declaration.ts'

export type Row = Record<string, unknown>

/** Rows by named output ('clicks_1m', 'sessions', 'late', …); bound to tables or topics at start-up. */
export type OutputRows = Record<string, Row[]>

export type RestoreResult = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/**
 * The per-partition part of a job: pure and synchronous, no I/O and no clock of its own, so it is
 * tested with plain arrays and a number for "now". The runner owns everything else.
 */
export interface JobTask<In> {
  process(events: readonly In[], nowMs: number): OutputRows
  /** Processing-time progress (early firings). */
  onProcessingTime(nowMs: number): OutputRows
  /**
   * End of a bounded input (a reprocess of a range): event time jumps past everything, so every
   * open window, session and timer fires, final. The task takes no events after it.
   */
  finish(nowMs: number): OutputRows
  /** The state kept whole in each checkpoint: counters, and the few open windows of aggregates. */
  snapshot(): Uint8Array
  /**
   * Hands the state store entries changed since the last call (the deduplicator's ids, keyed
   * states, fired windows…) to the checkpoint being taken. Called just before `snapshot`, at the
   * same batch boundary: an operator that moves state to the store then says so in its snapshot.
   */
  changes(into: Map<string, Uint8Array | null>): void
  restore(bytes: Uint8Array): RestoreResult
  /** Counters and gauges for metrics and /api/v1/pipeline/health. */
  stats(): Record<string, number>
}

export interface Job<S extends Stream = Stream> {
  readonly name: string
  readonly stream: S
  /** Its named operators and what each feeds; docs/ARCHITECTURE.md draws it. */
  readonly topology: Topology
  /** Every output name the job's tasks may emit: what its topology feeds (topologyOutputs). */
  readonly outputs: readonly string[]
  /**
   * The only fields its tasks read, when it is a few of many: the runner then decodes just these
   * (the rest of each message is skipped, not built). Late rows still reach the late topic whole:
   * they come from process(), and the runner decodes their records again.
   */
  readonly reads?: readonly (keyof EventByStream[S] & string)[]
  /** A partition's task, keeping what is not kept whole in `state` (a fresh heap store when omitted: tests). */
  createTask(partition: number, state?: PartitionStateStore): JobTask<EventByStream[S]>
}

/** Adds rows to an output, creating it on first use. */
export function emit(outputs: OutputRows, name: string, row: Row): void {
  ;(outputs[name] ??= []).push(row)
}

export function mergeOutputs(into: OutputRows, from: OutputRows): OutputRows {
  for (const [name, rows] of Object.entries(from)) for (const row of rows) emit(into, name, row)
  return into
}
