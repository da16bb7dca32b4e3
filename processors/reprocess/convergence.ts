import type { Batch, Consumer } from '../../core/bus/port.ts'
import type { Logger } from '../../core/logging/logger.ts'
import type { ConvergenceStatus } from '../../core/pipeline-status.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import type { LateReach } from './plan.ts'
import { PendingRanges, type ConvergenceSettings, type PendingRange } from './pending-ranges.ts'
import type { ReprocessSummary } from './reprocess.ts'

export interface LateRange {
  readonly stream: Stream
  readonly fromMs: number
  readonly toMs: number
  readonly earliestMs: number
  readonly keys: ReadonlySet<string> | undefined
}

export type ConvergenceRun = NonNullable<ConvergenceStatus['lastRun']> & { readonly stream: Stream }

export interface ConvergenceOptions {
  readonly settings: ConvergenceSettings
  readonly reachOf: (stream: Stream) => LateReach
  /** The late topic, consumed by a group of its own; offsets are committed once their ranges are recomputed. */
  readonly consumer: Consumer
  readonly topic: string
  /** The stream a late record belongs to (from the job that sent it), undefined for one that is not a job's. */
  readonly streamOf: (jobHeader: string | undefined) => Stream | undefined
  /** Late records older than this are past the raw retention: nothing is left to recompute them from. */
  readonly oldestMs: () => number
  /** Recomputes a range once the raw rows of its late events are stored (keys and earliest: whose events came late, from when). */
  readonly reprocess: (range: LateRange) => Promise<ReprocessSummary>
  readonly clock: () => number
  readonly logger: Logger
  /** Told of each run's outcome and of each late record taken in (metrics). */
  readonly onRun?: (run: ConvergenceRun, lateToCorrectedMs: number) => void
  readonly onLateRecord?: (stream: Stream) => void
}

/** How often due ranges are looked for. */
const TICK_MS = 500
/** How long a shutdown waits for a recomputation in progress. */
const STOP_GRACE_MS = 5_000

/**
 * Automatic convergence: every record on the late topic makes its window pending, and pending
 * ranges are recomputed from the raw tables (reprocess) one at a time once quiet, so the
 * aggregates come to equal a recomputation from raw without anyone running a command. The late
 * topic's offsets are committed only below records whose ranges are done: after a crash the rest
 * is read again and recomputed again, which a reprocess makes harmless.
 */
export class Convergence {
  private readonly pending: PendingRanges
  private running: PendingRange | undefined
  /** Per late-topic partition: the offset after the newest record taken in, and the last committed. */
  private readonly next = new Map<number, number>()
  private readonly committed = new Map<number, number>()
  private runs = 0
  private failures = 0
  private lastRun: ConvergenceRun | undefined
  private timer: NodeJS.Timeout | undefined
  private consuming: Promise<void> | undefined
  private turn: Promise<void> = Promise.resolve()
  private stopped = false

  constructor(private readonly options: ConvergenceOptions) {
    this.pending = new PendingRanges(options.settings, options.reachOf)
  }

  start(): void {
    this.consuming = this.options.consumer.run((batch) => this.take(batch))
    this.timer = setInterval(() => {
      this.turn = this.turn.then(() => this.tick())
    }, TICK_MS)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    // A run waiting on a store that is down would hold the shutdown: it is given a moment, then
    // left. Its late records are not committed, so the next start recomputes their windows.
    let grace: NodeJS.Timeout | undefined
    await Promise.race([this.turn, new Promise((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS)))])
    clearTimeout(grace)
    await this.options.consumer.stop()
    await this.consuming?.catch(() => undefined)
  }

  status(): ConvergenceStatus {
    const view = (range: PendingRange) => ({ stream: range.stream, fromMs: range.fromMs, toMs: range.toMs, lateRecords: range.lateRecords })
    return {
      pending: this.pending.list.map(view),
      ...(this.running ? { running: view(this.running) } : {}),
      runs: this.runs,
      failures: this.failures,
      ...(this.lastRun ? { lastRun: this.lastRun } : {}),
    }
  }

  private async take(batch: Batch): Promise<void> {
    const now = this.options.clock()
    const oldest = this.options.oldestMs()
    for (const record of batch.records) {
      const stream = this.options.streamOf(record.headers['eddy.late.job'] as string | undefined)
      if (stream !== undefined && record.timestamp >= oldest) {
        this.pending.add(stream, record.timestamp, batch.partition, record.offset, now, record.key)
        this.options.onLateRecord?.(stream)
      }
      this.next.set(batch.partition, record.offset + 1)
    }
  }

  /** Runs the range due first, if any, then commits what is done. */
  private async tick(): Promise<void> {
    if (this.stopped) return
    const range = this.pending.takeDue(this.options.clock())
    if (range !== undefined) await this.run(range)
    await this.commit()
  }

  private async run(range: PendingRange): Promise<void> {
    this.running = range
    const started = this.options.clock()
    let outcome: ConvergenceRun
    try {
      const summary = await this.options.reprocess({ stream: range.stream, fromMs: range.fromMs, toMs: range.toMs, earliestMs: range.earliestMs, keys: range.keys })
      this.runs++
      const totals = summary.streams[range.stream]
      outcome = { ...this.described(range, started), ...(totals ? { rows: totals.rows } : {}) }
      this.options.logger.info({ stream: range.stream, from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString(), lateRecords: range.lateRecords, ...totals }, 'late events recomputed into their windows')
    } catch (error) {
      this.failures++
      outcome = { ...this.described(range, started), error: (error as Error).message }
      this.options.logger.warn({ err: error, stream: range.stream }, 'recomputing the windows of late events failed; trying again later')
      this.pending.putBack(range, this.options.clock())
    } finally {
      this.running = undefined
    }
    this.lastRun = outcome
    this.options.onRun?.(outcome, outcome.finishedAtMs - range.firstAtMs)
  }

  private described(range: PendingRange, startedMs: number) {
    const finishedAtMs = this.options.clock()
    return { stream: range.stream, fromMs: range.fromMs, toMs: range.toMs, lateRecords: range.lateRecords, finishedAtMs, durationMs: finishedAtMs - startedMs }
  }

  private async commit(): Promise<void> {
    const offsets = [...this.pending.committable(this.next, this.running)]
      .filter(([partition, offset]) => offset > (this.committed.get(partition) ?? -1))
      .map(([partition, offset]) => ({ topic: this.options.topic, partition, offset }))
    if (offsets.length === 0) return
    try {
      await this.options.consumer.commit(offsets)
      for (const { partition, offset } of offsets) this.committed.set(partition, offset)
    } catch (error) {
      this.options.logger.warn({ err: error }, 'committing the late topic failed; its records will be read again')
    }
  }
}
