import { describeProgress, runReprocess } from '../cli/commands/reprocess.ts'
import { startPipeline } from '../cli/pipeline.ts'
import { createRuntime, type Runtime } from '../cli/runtime.ts'
import type { ReprocessSummary } from '../processors/reprocess/reprocess.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { probeFreshness, type MarkerFreshness } from './marker-freshness.ts'
import { benchConfig, closingEvents, groupProgress, historicalTraffic, importOnto, linesOf, quietLogger, sleep } from './reprocess-support.ts'
import { round } from './stats.ts'

export interface ReprocessThroughputFigure {
  /** Raw events imported, and the hours of event time they span (ending `endsHoursAgo` ago). */
  readonly rawEvents: number
  readonly spanHours: number
  readonly endsHoursAgo: number
  /** The live processors working off that backlog: records committed per second. */
  readonly liveEventsPerSec: number
  readonly liveSeconds: number
  /** One `eddy reprocess` of the whole range, nothing else running: events read per second. */
  readonly reprocessEventsPerSec: number
  readonly reprocessSeconds: number
  readonly reprocessEventsRead: number
  /** Raw events in the range per second of the same run (reads overlap a little at slice edges). */
  readonly reprocessRawEventsPerSec: number
  readonly reprocessRows: number
  /** Rows the reprocess left to the live jobs (windows still open, sessions past the reach): 0 expected. */
  readonly reprocessLeftToLive: number
  /** reprocess / live events per second. */
  readonly ratio: number
  /** Live traffic's freshness with nothing else running, and while reprocess passes of the range run. */
  readonly freshnessAlone: MarkerFreshness
  readonly freshnessDuringReprocess: MarkerFreshness
  /** The passes run during that measurement, and their events read per second under the live load. */
  readonly passesDuringFreshness: number
  readonly reprocessEventsPerSecUnderLoad: number
}

export interface ReprocessThroughputOptions {
  readonly events: number
  /** Live traffic offered in the freshness figures, events/s. */
  readonly liveRate: number
  /** How long each freshness figure runs at least (reprocess passes repeat until it has). */
  readonly freshnessSeconds: number
  readonly onProgress: (line: string, force?: boolean) => void
}

const HOUR = 3_600_000
const SPAN_HOURS = 6
const ENDS_HOURS_AGO = 2
/** Bounds on waiting for the processors to work off the backlog. */
const CATCH_UP_TIMEOUT_MS = 30 * 60_000

const eventsRead = (summary: ReprocessSummary) => Object.values(summary.streams).reduce((sum, totals) => sum + totals.events, 0)

/**
 * Issue 18's first and third figures on one pipeline. `events` of the traffic model over six hours
 * ending two hours ago are imported onto the embedded log first, with the processors not running,
 * and a few events now on every partition after them; then the pipeline starts (automatic
 * convergence off) and the live processors' rate is read from their committed offsets until they
 * caught up. Then a reprocess of the whole range runs alone and is timed; then live traffic's
 * freshness is measured without a reprocess, and again while reprocess passes of the range run
 * back to back in the same process.
 */
export async function benchReprocessThroughput(options: ReprocessThroughputOptions): Promise<ReprocessThroughputFigure> {
  const { onProgress } = options
  const directory = temporaryDirectory('bench-reprocess')
  const config = benchConfig(directory.path, { EDDY_CONVERGENCE_QUIET_MS: '0' })
  const now = Date.now()
  const endMs = Math.floor((now - ENDS_HOURS_AGO * HOUR) / 60_000) * 60_000
  const range = { fromMs: endMs - SPAN_HOURS * HOUR, toMs: endMs }
  let runtime: Runtime | undefined
  try {
    // The backlog, published as `eddy import` publishes: onto the bus, before any processor reads it.
    const publisher = createRuntime(config, quietLogger())
    let rawEvents = 0
    try {
      const traffic = historicalTraffic({ seed: 180, events: options.events, startMs: range.fromMs, spanMs: SPAN_HOURS * HOUR, chunks: 20 })
      const imported = await importOnto(publisher, [linesOf('backlog', traffic)], (accepted) => onProgress(`reprocess: ${accepted.toLocaleString('en-US')} raw events imported onto the log`))
      rawEvents = imported.accepted
      onProgress(`reprocess: ${rawEvents.toLocaleString('en-US')} raw events imported in ${round(imported.seconds)} s`, true)
      await importOnto(publisher, [linesOf('closing', [closingEvents(now - 60_000, config.topics.partitions)])])
    } finally {
      await publisher.close()
    }

    runtime = createRuntime(config, quietLogger())
    const pipeline = await startPipeline(runtime, { ingest: true, process: true, api: true })
    try {
      const live = await measureCatchUp(runtime, pipeline.groups, onProgress)
      onProgress(`reprocess: live processors ${live.eventsPerSec.toLocaleString('en-US')} events/s over the backlog`, true)

      const started = performance.now()
      const summary = await runReprocess(runtime, range, { onProgress: (progress) => onProgress(`reprocess: ${describeProgress(progress)}`) })
      const reprocessSeconds = (performance.now() - started) / 1_000
      const read = eventsRead(summary)
      const reprocessEventsPerSec = Math.round(read / reprocessSeconds)
      onProgress(`reprocess: ${read.toLocaleString('en-US')} events read in ${round(reprocessSeconds)} s, ${reprocessEventsPerSec.toLocaleString('en-US')} events/s`, true)

      const clickhouse = await runtime.clickhouse()
      const probe = { url: pipeline.url, clickhouse, database: config.clickhouse.database, rate: options.liveRate, seconds: options.freshnessSeconds, onProgress }
      onProgress(`reprocess: freshness at ${options.liveRate.toLocaleString('en-US')} events/s, no reprocess running`, true)
      const freshnessAlone = await probeFreshness({ ...probe, prefix: 'alone' })
      let passes = 0
      let readUnderLoad = 0
      let secondsUnderLoad = 0
      onProgress(`reprocess: freshness at ${options.liveRate.toLocaleString('en-US')} events/s while reprocess passes run for at least ${options.freshnessSeconds} s`, true)
      const freshnessDuringReprocess = await probeFreshness({
        ...probe,
        prefix: 'during',
        alongside: async () => {
          const until = performance.now() + options.freshnessSeconds * 1_000
          do {
            const passStarted = performance.now()
            readUnderLoad += eventsRead(await runReprocess(runtime!, range, { onProgress: (progress) => onProgress(`reprocess under live traffic, pass ${passes + 1}: ${describeProgress(progress)}`) }))
            secondsUnderLoad += (performance.now() - passStarted) / 1_000
            passes += 1
          } while (performance.now() < until)
        },
      })
      const totals = Object.values(summary.streams)
      return {
        rawEvents,
        spanHours: SPAN_HOURS,
        endsHoursAgo: ENDS_HOURS_AGO,
        liveEventsPerSec: live.eventsPerSec,
        liveSeconds: live.seconds,
        reprocessEventsPerSec,
        reprocessSeconds: round(reprocessSeconds),
        reprocessEventsRead: read,
        reprocessRawEventsPerSec: Math.round(rawEvents / reprocessSeconds),
        reprocessRows: totals.reduce((sum, t) => sum + t.rows, 0),
        reprocessLeftToLive: totals.reduce((sum, t) => sum + t.stillOpen + t.incomplete, 0),
        ratio: round(reprocessEventsPerSec / live.eventsPerSec),
        freshnessAlone,
        freshnessDuringReprocess,
        passesDuringFreshness: passes,
        reprocessEventsPerSecUnderLoad: Math.round(readUnderLoad / secondsUnderLoad),
      }
    } finally {
      await pipeline.stop()
    }
  } finally {
    directory.remove()
  }
}

/**
 * The processors' rate over a backlog, from their committed offsets polled every 250 ms: records
 * committed between the first poll after start-up and the poll that found every group caught up,
 * over the time between them (so start-up is not counted, and the figure is end to end: an offset
 * is committed once its batch's rows are written).
 */
async function measureCatchUp(runtime: Runtime, groups: Parameters<typeof groupProgress>[1], onProgress: (line: string, force?: boolean) => void): Promise<{ eventsPerSec: number; seconds: number }> {
  const first = await groupProgress(runtime, groups)
  const startedAt = performance.now()
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS
  for (;;) {
    await sleep(250)
    const now = await groupProgress(runtime, groups)
    onProgress(`reprocess: live processors ${now.committed.toLocaleString('en-US')}/${now.high.toLocaleString('en-US')} records committed`)
    if (now.caughtUp) {
      const seconds = (performance.now() - startedAt) / 1_000
      return { eventsPerSec: Math.round((now.committed - first.committed) / seconds), seconds: round(seconds) }
    }
    if (Date.now() > deadline) throw new Error(`the processors had not caught up with ${now.high} records after ${CATCH_UP_TIMEOUT_MS / 60_000} minutes`)
  }
}
