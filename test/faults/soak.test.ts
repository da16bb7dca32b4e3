import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fork, type ChildProcess } from 'node:child_process'
import type { ThreadMetrics } from '../../core/metrics/index.ts'
import { eventIdsOf, reportFaultCounts } from '../support/fault-report.ts'
import { soakChunk } from '../support/soak-traffic.ts'
import { eventually, startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

/**
 * Soak: steady traffic at a fixed rate, with memory, consumer lag and freshness sampled as it
 * runs. It fails if the heap keeps growing or the lag keeps rising (the pipeline falls behind), and
 * checks at the end that every accepted event is stored once. CI runs 60 s at 2,000 events/s
 * (a third of what one process takes on this 2-core machine, with everything else CI runs beside
 * it); `npm run soak` runs the long version: 10 minutes at half the whole pipeline's capacity
 * measured by the newest `npm run bench` on this machine (EDDY_SOAK_SECONDS, EDDY_SOAK_RATE set
 * them by hand).
 */
const SECONDS = Number(process.env.EDDY_SOAK_SECONDS ?? 60)
const RATE = soakRate(process.env.EDDY_SOAK_RATE)
const SAMPLE_MS = SECONDS >= 300 ? 10_000 : 5_000
const MB = 1024 * 1024

/**
 * Events per second: a number, or `half-capacity` for half of what the whole pipeline in one
 * process sustains on the traffic model (the bench's pipeline stage), from the newest
 * bench/results/<date>[-sections].json that measured it.
 */
function soakRate(setting: string | undefined): number {
  if (setting === undefined) return 2_000
  if (setting !== 'half-capacity') return Number(setting)
  const directory = join(import.meta.dirname, '../../bench/results')
  // By the time each run recorded: on one day, names alone put `<date>.json` after `<date>-pipeline.json`.
  const newest = readdirSync(directory).filter((name) => /^\d{4}-\d{2}-\d{2}(-[a-z-]+)?\.json$/.test(name))
    .map((name) => JSON.parse(readFileSync(join(directory, name), 'utf8')) as { date: string; pipeline?: { eventsPerSec?: { median?: number } } })
    .sort((left, right) => right.date.localeCompare(left.date))
    .find((result) => result.pipeline?.eventsPerSec?.median)
  if (!newest) throw new Error('EDDY_SOAK_RATE=half-capacity needs the measured pipeline capacity: run `npm run bench -- --only pipeline` first')
  return Math.round(newest.pipeline!.eventsPerSec!.median! / 2)
}

/**
 * A histogram over every job: its count, the share of observations within `limit` (a bucket
 * bound), and the bucket bound the 99th percentile falls under.
 */
function histogramFigures(metrics: ThreadMetrics, name: string, limit: number) {
  const metric = metrics.find((entry) => entry.name === name)
  const buckets = new Map<number, number>()
  let count = 0
  for (const value of metric?.values ?? []) {
    const { metricName, labels } = value as { metricName?: string; labels: Record<string, string | number> }
    if (metricName === `${name}_count`) count += value.value
    if (metricName === `${name}_bucket`) {
      const bound = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le)
      buckets.set(bound, (buckets.get(bound) ?? 0) + value.value)
    }
  }
  const bounds = [...buckets.keys()].sort((left, right) => left - right)
  const p99AtMost = bounds.find((bound) => buckets.get(bound)! >= count * 0.99) ?? Number.POSITIVE_INFINITY
  return { count, withinLimit: count === 0 ? 1 : Math.round(((buckets.get(limit) ?? 0) / count) * 10_000) / 10_000, limit, p99AtMost: Number.isFinite(p99AtMost) ? p99AtMost : '+Inf' }
}

/** A thread's gauge from the process's metrics (eddy_thread_*, labelled by thread). */
function threadGauge(metrics: ThreadMetrics, name: string, thread: string): number {
  return Number(metrics.find((entry) => entry.name === name)?.values.find((value) => value.labels.thread === thread)?.value ?? 0)
}

interface Sample {
  readonly atS: number
  /**
   * The processors' thread's heap right after the sample window's smallest mark-compact: what is
   * alive (eddy_thread_heap_live_bytes). heapUsed at an arbitrary moment also holds the garbage V8
   * lets pile up before its next major GC, which grows with the live heap, so it would read as
   * growth beyond the state. The processors hold their state on their own thread, as in `eddy start`.
   */
  readonly liveHeapMb: number
  /** The same for the main thread: ingest, the api, the embedded log and chDB's client side. */
  readonly mainLiveHeapMb: number
  readonly rssMb: number
  /** What the jobs know they hold: window and keyed state (the engine's estimates) and ids kept for deduplication. */
  readonly stateMb: number
  /** Records not yet processed, over every job's partitions (from each job's position, not its commits). */
  readonly lag: number
  /** Records not yet committed: the above plus what was processed since each partition's last checkpoint. */
  readonly committedLag: number
  readonly freshnessMs: number
}

describe(`soak: ${SECONDS} s at ${RATE.toLocaleString('en-US')} events/s`, () => {
  let eddy: TestPipeline
  beforeAll(async () => {
    // The sink's production batching (250 ms), not the 50 ms the functional suites use to see
    // rows sooner: five times the inserts cap what one process takes at a few thousand events/s.
    // The processors on a thread of their own, as `eddy start` runs them: their heap is then
    // theirs alone, which is what the state store is to bound.
    eddy = await startTestPipeline({ EDDY_SINK_FLUSH_MS: '250', EDDY_PROCESSOR_THREAD: 'worker' })
  })
  const senders: ChildProcess[] = []
  afterAll(async () => {
    for (const sender of senders) sender.kill()
    await eddy?.stop()
  })

  it('keeps memory and lag bounded and stores every accepted event once', async () => {
    const clickhouse = await eddy.runtime.clickhouse()
    const jobOfGroup = new Map(eddy.pipeline.groups.map(({ group, job }) => [group, job]))
    const status = async () => {
      // What /api/v1/pipeline/health reports: the jobs' positions and stats come from their thread.
      const { consumers, jobs } = await eddy.pipeline.status!()
      const held = (key: string) => jobs.reduce((sum, job) => sum + (job.stats[key] ?? 0), 0)
      const position = (group: string, partition: number) => jobs.find((job) => job.job === jobOfGroup.get(group) && job.partition === partition)?.position
      let lag = 0
      let committedLag = 0
      for (const consumer of consumers) {
        for (const partition of consumer.partitions) {
          committedLag += partition.lag
          lag += Math.max(0, partition.high - (position(consumer.group, partition.partition) ?? partition.committed))
        }
      }
      return { stateMb: Math.round(held('stateBytes') / MB), lag, committedLag }
    }
    const committedLag = async () => (await status()).committedLag
    const authorization = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`
    let marker = 0
    /** 202 of one marker line → its raw row is visible. */
    const freshness = async () => {
      const service = `soak-marker-${++marker}`
      const sentAt = Date.now()
      const started = performance.now()
      await fetch(`${eddy.url}/v1/logs`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-ndjson' }, body: JSON.stringify({ service, message: 'marker' }) })
      await eventually(async () => {
        // Within the table's key (project, day, service): a probe that scanned the growing table
        // would measure its own query time, which grows with the run, not the pipeline's delay.
        const result = await clickhouse.query({
          query: "SELECT count() AS n FROM eddy.events_log WHERE project_id = 'alpha' AND ts >= fromUnixTimestamp64Milli({since:Int64}) AND service = {service:String}",
          query_params: { service, since: sentAt - 60_000 },
          format: 'JSONEachRow',
        })
        return Number((await result.json<{ n: string }>())[0]?.n ?? 0)
      }, (count) => count > 0, 30_000)
      return Math.round(performance.now() - started)
    }

    // Traffic in chunks of 30 s from a child process (test/support/soak-sender.ts), generated as
    // they are sent and again here, from their seeds, for the final count: a 10-minute run is
    // millions of events, which held at once would be the heap growth this test looks for. The
    // run lasts SECONDS of wall clock (a chunk starts only before then); when the offered rate is
    // not reached, fewer chunks go out and the achieved rate says so.
    const now = Date.now()
    const CHUNK_SECONDS = Math.min(30, SECONDS)
    const sender = fork(join(import.meta.dirname, '../support/soak-sender.ts'), [eddy.url, TEST_WRITE_KEY, String(RATE), String(SECONDS), String(CHUNK_SECONDS), String(now)], { execArgv: ['--import', 'tsx'] })
    const sending = new Promise<{ sent: number; accepted: number; rejected: number; retries: number; chunksSent: number; seconds: number }>((resolve, reject) => {
      sender.once('message', (message) => resolve(message as never))
      sender.once('exit', (code) => reject(new Error(`the soak sender exited with ${code} before reporting`)))
    })
    senders.push(sender)
    let done = false
    void sending.finally(() => {
      done = true
    })
    const samples: Sample[] = []
    const started = performance.now()
    while (!done) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS))
      // Nothing else reads the metrics here, so each sample's live heap is its own window's.
      const metrics = await eddy.runtime.metrics.json()
      samples.push({
        atS: Math.round((performance.now() - started) / 1_000),
        liveHeapMb: Math.round(threadGauge(metrics, 'eddy_thread_heap_live_bytes', 'processors') / MB),
        mainLiveHeapMb: Math.round(threadGauge(metrics, 'eddy_thread_heap_live_bytes', 'main') / MB),
        rssMb: Math.round(process.memoryUsage().rss / MB),
        ...(await status()),
        freshnessMs: await freshness(),
      })
      console.log(`soak ${JSON.stringify(samples.at(-1))}`)
    }
    const progress = await sending
    expect(progress.rejected).toBe(0)

    // Bounded memory: the state the jobs hold grows for as long as its horizons (sessions close
    // after 30 minutes, log ids are remembered for 70), longer than a 10-minute run, and is itself
    // bounded by the operators' limits. What must not grow is the live heap beyond that state:
    // the last third of the run may not sit far above the first third.
    const third = Math.max(1, Math.floor(samples.length / 3))
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!
    const beyondState = (sample: Sample) => sample.liveHeapMb - sample.stateMb
    const early = median(samples.slice(0, third).map(beyondState))
    const late = median(samples.slice(-third).map(beyondState))
    expect(late, `live heap beyond the jobs' state: ${early} MB early, ${late} MB late`).toBeLessThanOrEqual(Math.max(early * 2, early + 200))
    // Keeping up: over the run the lag may wobble but not climb (a pipeline slower than the offered
    // rate gains rate − capacity every second), and it never holds more than ten seconds of traffic.
    const earlyLag = median(samples.slice(0, third).map((sample) => sample.lag))
    const lateLag = median(samples.slice(-third).map((sample) => sample.lag))
    expect(lateLag, `lag ${earlyLag} early, ${lateLag} late`).toBeLessThanOrEqual(earlyLag + RATE * 3)
    expect(Math.max(...samples.map((sample) => sample.lag))).toBeLessThan(RATE * 10)
    expect(await eventually(committedLag, (value) => value === 0, 120_000)).toBe(0)

    // The sender retries every request until it is answered, and none was refused (above): every
    // event sent was acknowledged.
    const ids = function* (stream: 'click' | 'log' | 'notification') {
      for (let index = 0; index < progress.chunksSent; index++) {
        yield* eventIdsOf(stream, 'alpha', soakChunk({ index, rate: RATE, chunkSeconds: CHUNK_SECONDS, startMs: now }).filter((event) => event.stream === stream).map((event) => event.payload))
      }
    }
    const counts = await reportFaultCounts(clickhouse, 'soak', {
      sent: progress.sent,
      streams: [
        { table: 'eddy.events_click', where: "project_id = 'alpha'", acknowledged: ids('click') },
        { table: 'eddy.events_log', where: "project_id = 'alpha' AND NOT startsWith(service, 'soak-marker-')", acknowledged: ids('log') },
        { table: 'eddy.events_notification', where: "project_id = 'alpha'", acknowledged: ids('notification') },
      ],
      extra: {
        offeredPerSecond: RATE,
        achievedPerSecond: Math.round(progress.sent / progress.seconds),
        accepted: progress.accepted,
        retries: progress.retries,
        freshnessP50Ms: median(samples.map((s) => s.freshnessMs)),
        freshnessMaxMs: Math.max(...samples.map((s) => s.freshnessMs)),
        processorsLiveHeapMb: { first: samples[0]!.liveHeapMb, last: samples.at(-1)!.liveHeapMb, max: Math.max(...samples.map((s) => s.liveHeapMb)) },
        mainLiveHeapMb: { first: samples[0]!.mainLiveHeapMb, last: samples.at(-1)!.mainLiveHeapMb, max: Math.max(...samples.map((s) => s.mainLiveHeapMb)) },
        liveHeapBeyondStateMb: { early, late },
        stateMb: { first: samples[0]!.stateMb, last: samples.at(-1)!.stateMb },
        rssMb: { first: samples[0]!.rssMb, last: samples.at(-1)!.rssMb, max: Math.max(...samples.map((s) => s.rssMb)) },
        lag: { max: Math.max(...samples.map((s) => s.lag)) },
        committedLag: { max: Math.max(...samples.map((s) => s.committedLag)) },
      },
    })
    expect(counts).toMatchObject({ lost: 0, duplicates: 0, unacknowledged: 0 })
    // What issue 17 measures in this run (figures, not limits: a busy machine would fail them).
    const metrics = await eddy.runtime.metrics.json()
    console.log(`soak checkpoints ${JSON.stringify({
      snapshotPause: histogramFigures(metrics, 'eddy_checkpoint_snapshot_seconds', 0.05),
      interval: histogramFigures(metrics, 'eddy_checkpoint_interval_seconds', 5),
    })}`)
  }, (SECONDS * 1.5 + 300) * 1_000)
})
