import { startPipeline } from '../cli/pipeline.ts'
import { createRuntime } from '../cli/runtime.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import type { GeneratedEvent } from '../traffic/generator.ts'
import { sendRequests, toRequests } from '../traffic/sender.ts'
import { benchConfig, closingEvents, groupProgress, keyFor, PROJECT, quietLogger, sleep, until, WRITE_KEY } from './reprocess-support.ts'
import { percentile, round } from './stats.ts'

export interface LateCorrectionFigure {
  readonly samples: number
  readonly corrected: number
  /** Seconds from a late batch's 202 to its minute in clicks_1m equalling the raw count, each sample. */
  readonly seconds: readonly number[]
  readonly p50Seconds: number
  readonly maxSeconds: number
  /** eddy_convergence_late_to_corrected_seconds{stream="click"} at the end: the product's own view. */
  readonly histogramCount: number
  readonly histogramMeanSeconds: number
}

export interface LateCorrectionOptions {
  readonly samples: number
  readonly onProgress: (line: string, force?: boolean) => void
}

const MINUTE = 60_000
const ON_TIME_PER_MINUTE = 100
const LATE_PER_SAMPLE = 50
/** Past the live jobs' 10-minute allowed lateness by a margin, and 2 minutes apart. */
const FIRST_MINUTE_AGO = 20
/** Each sample stops by itself: not corrected by then counts as not corrected. */
const SAMPLE_TIMEOUT_MS = 120_000
const POLL_MS = 250

/**
 * Issue 18's fourth figure, with automatic convergence on (EDDY_CONVERGENCE_QUIET_MS default).
 * Pageviews go into a few minutes 20 minutes and more ago while they are on time, then an event
 * now on every partition closes those windows. Each sample then sends pageviews into one of the
 * closed minutes (late: older than the allowed lateness) and measures the time from their 202
 * until that minute's pageviews in clicks_1m (FINAL, summed over partitions) equal the raw count
 * of the minute, which must include them; polled every 250 ms, one sample after the other.
 */
export async function benchLateCorrection(options: LateCorrectionOptions): Promise<LateCorrectionFigure> {
  const { onProgress } = options
  const directory = temporaryDirectory('bench-late')
  const config = benchConfig(directory.path)
  const runtime = createRuntime(config, quietLogger())
  const pipeline = await startPipeline(runtime, { ingest: true, process: true, api: true })
  const database = config.clickhouse.database
  const partitions = config.topics.partitions
  try {
    const clickhouse = await runtime.clickhouse()
    const send = async (events: readonly GeneratedEvent[]) => {
      // One request at a time: each partition sees its events in the order they are in.
      const result = await sendRequests(toRequests(events, 100), { baseUrl: pipeline.url, writeKey: WRITE_KEY, batchSize: 100, concurrency: 1 })
      if (result.rejected > 0) throw new Error(`${result.rejected} events rejected`)
    }
    const now = Date.now()
    const minutes = Array.from({ length: options.samples }, (_, index) => Math.floor(now / MINUTE) * MINUTE - (FIRST_MINUTE_AGO + 2 * index) * MINUTE)
    const pageviews = (minute: number, count: number, label: string) => Array.from({ length: count }, (_, index): GeneratedEvent => {
      const ts = minute + Math.floor((index * MINUTE) / count)
      const visitor = keyFor(index % partitions, partitions, `${label}-`)
      return { stream: 'click', ts, payload: { type: 'page', anonymousId: visitor, messageId: `${label}-${index}`, timestamp: new Date(ts).toISOString(), properties: { url: `https://late.example/${label}`, path: `/${label}` } } }
    })
    await send(minutes.flatMap((minute, sample) => pageviews(minute, ON_TIME_PER_MINUTE, `on-time-${sample}`)).sort((a, b) => a.ts - b.ts))
    await send(closingEvents(Date.now(), partitions))
    if (!(await until(async () => (await groupProgress(runtime, pipeline.groups)).caughtUp, 120_000, 200))) throw new Error('the processors did not store the on-time events within 2 minutes')

    const count = async (query: string, minute: number) => {
      const result = await clickhouse.query({ query, query_params: { project: PROJECT, minute: minute / 1_000 }, format: 'JSONEachRow' })
      return Number((await result.json<{ n: string | number }>())[0]?.n ?? 0)
    }
    const raw = (minute: number) => count(`SELECT count() AS n FROM ${database}.events_click FINAL WHERE project_id = {project:String} AND type = 'pageview' AND toStartOfMinute(ts) = toDateTime({minute:UInt32}, 'UTC')`, minute)
    const aggregated = (minute: number) => count(`SELECT sum(pageviews) AS n FROM ${database}.clicks_1m FINAL WHERE project_id = {project:String} AND dimension = 'total' AND window_start = toDateTime({minute:UInt32}, 'UTC')`, minute)

    const seconds: number[] = []
    for (const [sample, minute] of minutes.entries()) {
      await send(pageviews(minute, LATE_PER_SAMPLE, `late-${sample}`))
      const acknowledged = performance.now()
      const expected = ON_TIME_PER_MINUTE + LATE_PER_SAMPLE
      let corrected = false
      const deadline = acknowledged + SAMPLE_TIMEOUT_MS
      while (performance.now() < deadline) {
        const [stored, counted] = await Promise.all([raw(minute), aggregated(minute)])
        if (stored === expected && counted === stored) {
          corrected = true
          break
        }
        onProgress(`late → corrected: sample ${sample + 1}/${minutes.length}, ${counted}/${stored} pageviews aggregated/raw, ${round((performance.now() - acknowledged) / 1_000)} s`)
        await sleep(POLL_MS)
      }
      const took = (performance.now() - acknowledged) / 1_000
      onProgress(`late → corrected: sample ${sample + 1}/${minutes.length} ${corrected ? `corrected after ${round(took)} s` : `not corrected within ${SAMPLE_TIMEOUT_MS / 1_000} s`}`, true)
      if (corrected) seconds.push(round(took))
    }

    // A run is observed once it has finished, which can be just after its rows became visible.
    const observed = async () => (await runtime.metrics.metrics.convergenceLag.get()).values.filter((value) => value.labels.stream === 'click')
    const ofKind = (values: Awaited<ReturnType<typeof observed>>, suffix: string) => values.find((value) => value.metricName?.endsWith(suffix))?.value ?? 0
    await until(async () => ofKind(await observed(), '_count') >= seconds.length, 10_000, 200)
    const histogram = await observed()
    const histogramCount = ofKind(histogram, '_count')
    const histogramSum = ofKind(histogram, '_sum')
    return {
      samples: minutes.length,
      corrected: seconds.length,
      seconds,
      p50Seconds: round(percentile(seconds, 50)),
      maxSeconds: seconds.length > 0 ? round(Math.max(...seconds)) : Number.NaN,
      histogramCount,
      histogramMeanSeconds: histogramCount > 0 ? round(histogramSum / histogramCount) : Number.NaN,
    }
  } finally {
    await pipeline.stop()
    directory.remove()
  }
}
