import { PARTITION_KEY } from '../../core/bus/partition-key.ts'
import { STREAMS, type Stream } from '../../schemas/avro/catalog.ts'
import type { Job, Row } from '../job.ts'
import type { ReprocessSource } from './clickhouse-source.ts'
import type { ReprocessJournal } from './journal.ts'
import { planSlices, streamReach, type Slice } from './plan.ts'
import { cooperative } from './cooperative.ts'
import { RangeReplay } from './replay.ts'
import { reprocessRevision, selectRows, tombstones, type LiveHorizon, type SelectionContext } from './select.ts'
import { reprocessTables, type ReprocessSettings } from './tables.ts'

export interface ReprocessRequest {
  readonly fromMs: number
  readonly toMs: number
  /** One stream, or every stream when absent. */
  readonly stream?: Stream
  /** One project (resolved from a key by the caller), or every project. */
  readonly projectId?: string
}

export interface ReprocessDependencies {
  readonly source: ReprocessSource
  /** Inserts rows into an aggregate table (unqualified name); resolves once they are durable. */
  readonly write: (table: string, rows: readonly Row[]) => Promise<void>
  /** The live jobs: the reprocess runs their code, there is no second implementation. */
  readonly jobs: readonly Job[]
  /** The input topics' partition count: rows are recomputed per partition as live. */
  readonly partitions: number
  readonly settings: ReprocessSettings
  readonly clock: () => number
  readonly journal: ReprocessJournal
  /** How long raw events are kept (EDDY_RETENTION_DAYS): older ones are gone, and so is what a reprocess could recompute. */
  readonly retentionMs: number
  readonly progress?: (progress: ReprocessProgress) => void
  /** Stops the run between reads (a shutdown); the journal lets the same request go on later. */
  readonly signal?: AbortSignal
}

export interface StreamTotals {
  slices: number
  events: number
  rows: number
  tombstones: number
  /** Rows of windows the live job still accepts events for, left to it. */
  stillOpen: number
  /** Rows whose events may go on past the reach (sessions a day long), left to the live job. */
  incomplete: number
  /** Events the job refused (invalid, over a state bound), as live. */
  notCounted: number
  /** Slices without a raw event, whose rows were left alone. */
  emptySlices: number
}

export interface ReprocessProgress extends StreamTotals {
  readonly stream: Stream
  readonly slicesTotal: number
  /** Raw events in the stream's range: what `events` counts towards (reads overlap a little at slice edges). */
  readonly eventsTotal: number
  /** Since this stream's recomputation began. */
  readonly elapsedMs: number
}

export interface ReprocessSummary {
  readonly generation: number
  readonly resumed: boolean
  readonly streams: Partial<Record<Stream, StreamTotals>>
}

/** Rows handed to the writer at once. */
const WRITE_PIECE_ROWS = 10_000

const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Reports progress at most this often, in events read. */
const PROGRESS_EVERY = 20_000

/**
 * Recomputes the aggregates of a range from the raw tables by running the live jobs' own code
 * over the raw events in event-time order (see docs/ARCHITECTURE.md "Late and historical data"),
 * slice by slice; rows it writes replace the live job's for good. A run killed midway and started
 * again with the same request goes on from the first slice not done, with the same revision.
 */
export async function reprocess(request: ReprocessRequest, dependencies: ReprocessDependencies): Promise<ReprocessSummary> {
  const { journal, clock } = dependencies
  const oldest = clock() - dependencies.retentionMs
  if (request.fromMs < oldest) {
    throw new RangeError(`raw events before ${new Date(oldest).toISOString()} are past the retention (EDDY_RETENTION_DAYS) and gone: reprocess from then on`)
  }
  const started = await journal.begin(request, clock())
  const revision = reprocessRevision(started.generation)
  const tables = reprocessTables(dependencies.settings)
  const streams: Partial<Record<Stream, StreamTotals>> = {}
  for (const stream of request.stream === undefined ? STREAMS : [request.stream]) {
    // Per stream, as the events it counts: a rate over the whole run would fall with each stream.
    const begun = clock()
    const job = dependencies.jobs.find((each) => each.stream === stream)
    if (job === undefined) continue
    const slices = planSlices(request.fromMs, request.toMs, streamReach(stream, dependencies.settings))
    const totals: StreamTotals = { slices: 0, events: 0, rows: 0, tombstones: 0, stillOpen: 0, incomplete: 0, notCounted: 0, emptySlices: 0 }
    streams[stream] = totals
    const eventsTotal = await dependencies.source.countEvents(stream, slices[0]!.fromMs, slices.at(-1)!.toMs, request.projectId)
    const horizon = await liveHorizon(dependencies, stream, slices[0]!.readFromMs)
    const report = () => dependencies.progress?.({ ...totals, stream, slicesTotal: slices.length, eventsTotal, elapsedMs: clock() - begun })
    for (const [index, slice] of slices.entries()) {
      dependencies.signal?.throwIfAborted()
      if (started.done.has(sliceName(stream, index))) {
        totals.slices++
        continue
      }
      const context: SelectionContext = { slice, partitions: dependencies.partitions, horizon, allowedLatenessMs: dependencies.settings.eventTime.allowedLatenessMs, revision }
      await reprocessSlice(job, slice, context, tables.filter((table) => table.stream === stream), request, dependencies, totals, report, started.generation)
      totals.slices++
      await journal.sliceDone(sliceName(stream, index))
      report()
    }
  }
  await journal.finish()
  return { generation: started.generation, resumed: started.done.size > 0, streams }
}

async function reprocessSlice(
  job: Job,
  slice: Slice,
  context: SelectionContext,
  tables: ReturnType<typeof reprocessTables>,
  request: ReprocessRequest,
  dependencies: ReprocessDependencies,
  totals: StreamTotals,
  report: () => void,
  nowMs: number,
): Promise<void> {
  if (job.reads === undefined) throw new Error(`job "${job.name}" declares no fields it reads; a reprocess cannot select its raw columns`)
  // Raw rows carry the fields the job reads, under their event names: they are its events.
  const partitionKey = PARTITION_KEY[job.stream] as unknown as (event: Row) => string
  const replay = new RangeReplay<Row>(job, tables, dependencies.partitions, partitionKey, nowMs)
  const breathe = cooperative()
  for await (const event of dependencies.source.readEvents(job.stream, slice, job.reads, request.projectId)) {
    replay.add(event)
    if (++totals.events % PROGRESS_EVERY === 0) {
      dependencies.signal?.throwIfAborted()
      report()
    }
    await breathe()
  }
  // No raw events at all where live rows may be: the raw rows are gone or were never stored, and
  // tombstoning on that evidence would wipe the aggregates. Left as they are, and said so.
  if (replay.events === 0) {
    totals.emptySlices++
    return
  }
  const selection = selectRows(tables, await replay.finish(() => yieldNow()), context)
  totals.notCounted += replay.notCounted
  totals.stillOpen += selection.stillOpen
  totals.incomplete += selection.incomplete
  for (const table of tables) {
    const written = selection.write.get(table.table) ?? []
    const cancelled = tombstones(table, await dependencies.source.existingRows(table, slice, request.projectId), written, context)
    // In pieces with a breath between: encoding a slice's rows at once would hold the live path.
    const rows = [...written, ...cancelled]
    for (let start = 0; start === 0 || start < rows.length; start += WRITE_PIECE_ROWS) {
      await dependencies.write(table.table, rows.slice(start, start + WRITE_PIECE_ROWS))
      await yieldNow()
    }
    totals.rows += written.length
    totals.tombstones += cancelled.length
  }
}

/**
 * How far the live job has come on each partition, from what it stored: the raw table holds
 * an event only once a live task has processed it, so the newest stored time is at most that
 * task's newest, and its watermark at least that minus the out-of-orderness. A partition with no
 * events has written no row to protect; one beyond the partition count has no live task left.
 */
async function liveHorizon(dependencies: ReprocessDependencies, stream: Stream, sinceMs: number): Promise<LiveHorizon> {
  const newest = await dependencies.source.newestEventTimes(stream, dependencies.partitions, sinceMs)
  const { outOfOrdernessMs } = dependencies.settings.eventTime
  return (partition) => {
    if (partition >= dependencies.partitions) return Infinity
    const time = newest.get(partition)
    return time === undefined ? -Infinity : time - outOfOrdernessMs
  }
}

const sliceName = (stream: Stream, index: number) => `${stream}/${index}`
