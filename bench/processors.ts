import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { loadConfig, type Config } from '../core/config/index.ts'
import { fileAvroInsert, httpAvroInsert } from '../core/clickhouse/avro-insert.ts'
import { createRuntime, type Runtime } from '../cli/runtime.ts'
import { startPipeline } from '../cli/pipeline.ts'
import { mainThreadCpuSeconds } from './thread-cpu.ts'
import { EDDY_NODE_FLAGS } from '../cli/node-flags.ts'
import { normaliseLogLine } from '../ingest/normalise/log.ts'
import { normaliseNotification } from '../ingest/normalise/notification.ts'
import { normaliseSegmentCall } from '../ingest/normalise/segment.ts'
import { UserAgentParser } from '../ingest/normalise/user-agent.ts'
import { pipelineStatus } from '../processors/status.ts'
import type { Stream } from '../schemas/avro/catalog.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { startCpuProfile } from './cpu-profile.ts'
import { rawRowFloor } from './raw-row-floor.ts'
import { generateTraffic } from '../traffic/generator.ts'

export interface ProcessorFigure {
  readonly events: number
  readonly eventsPerSec: number
  readonly seconds: number
  /** Of `seconds`, the time until the first record was drained: joining the consumer groups (Kafka), restoring. */
  readonly startSeconds: number
  /**
   * Events per second between 10 % and 90 % of the raw rows written (the sink's row counts,
   * sampled every 100 ms from before the processors start): the rate once running, without
   * start-up or the steps of commits, which move only at checkpoints.
   */
  readonly steadyEventsPerSec: number
  /** Events processed per second between 10 % and 90 % of them, from eddy_processed_records_total (not from commits or rows). */
  readonly processingEventsPerSec: number
  /** What `alongside` measured over the drain (the services' CPU seconds, say). */
  readonly alongside?: Record<string, number>
  readonly heapMb: number
  /** Share of the wall time the processors' thread was busy (event-loop utilisation). */
  readonly busyShare: number
  /**
   * Events per second of that thread's busy time: the processor's own cost per core. chDB parses
   * and merges the inserts on other threads of the same process here; with a ClickHouse server
   * that work is not on the processor's machine at all.
   */
  readonly eventsPerBusySecond: number
  /**
   * Events per CPU second of the processors' thread (user + system, from /proc): the processor's
   * own cost per core without the waits for a core that chDB's threads cause on this machine.
   * Garbage collection on V8's helper threads is not in it; the main thread's share is.
   */
  readonly eventsPerCpuSecond: number | undefined
  /** The same records Avro-decoded with avsc and stored raw as the sink does, bare (bench/raw-row-floor.ts), before the processors start. */
  readonly referenceRecordsPerSec: number
}

/**
 * Processor throughput on the embedded defaults: the log is filled with encoded events first,
 * then the processors (raw rows + every job) start and drain it into ClickHouse (chDB). The
 * figure is events drained per second, wall clock, until every consumer group has no lag. Before
 * the processors start, the same records go through the raw-row floor on the same chDB.
 */
export async function benchProcessors(
  options: {
    events?: number
    onProgress?: (line: string, force?: boolean) => void
    profilePath?: string
    stateStore?: Config['stateStore']
    /** The distributed path instead of the embedded one: topics on this broker, rows to this ClickHouse over HTTP. */
    services?: { readonly brokers: string; readonly clickhouseUrl: string }
    /** Started with the processors and stopped once they drained: figures of other processes over exactly that time. */
    alongside?: () => () => Record<string, number>
  } = {},
): Promise<ProcessorFigure> {
  const total = options.events ?? 200_000
  const directory = temporaryDirectory('bench-processors')
  const run = `${Date.now()}`
  const distributed = options.services
    ? { KAFKA_BROKERS: options.services.brokers, CLICKHOUSE_URL: options.services.clickhouseUrl, EDDY_TOPIC_PREFIX: `bench-processors-${run}`, CLICKHOUSE_DATABASE: `bench_processors_${run}` }
    : {}
  const config = loadConfig({ EDDY_DATA_DIR: directory.path, PORT: '0', HOST: '127.0.0.1', EDDY_WRITE_KEY: 'bench-write-key', EDDY_READ_KEY: 'bench-read-key', LOG_LEVEL: 'error', EDDY_STATE_STORE: options.stateStore ?? 'lmdb', ...distributed })
  const runtime = createRuntime(config, pino({ level: 'error' }))
  try {
    const bus = await runtime.bus()
    const { events, referenceRecordsPerSec } = await fillLogAndMeasureFloor(runtime, config, total, options.onProgress)
    // Raw rows written and records processed, sampled from before the start: a Kafka consumer that joins first drains
    // its topic while the others still join, inside startPipeline.
    const progress = sampleProgress(runtime)
    const stopAlongside = options.alongside?.()
    // From before the start, for the same reason (start-up's own frames are few and easy to tell apart).
    const profiler = options.profilePath === undefined ? undefined : await startCpuProfile()
    const pipeline = await startPipeline(runtime, { ingest: false, process: true, api: false })
    const groups = pipeline.groups
    const lags = async () => {
      // No jobs: their stats (state sizes, sampled) are the health API's, not what draining costs.
      const { consumers } = await pipelineStatus(bus, groups, [])
      const sum = (f: (p: { high: number; lag: number }) => number) => consumers.reduce((total, c) => total + c.partitions.reduce((t, p) => t + f(p), 0), 0)
      return { lag: sum((p) => p.lag), reads: sum((p) => p.high) }
    }
    // Timed from here: start-up (migrations, module loading) is not processing. Lag counts every
    // consumer group, so the events left are the lag's share of every group's reads.
    const started = performance.now()
    const loopBefore = performance.eventLoopUtilization()
    const cpuBefore = mainThreadCpuSeconds()
    const { lag: backlog, reads } = await lags()
    const totalLag = async () => (await lags()).lag
    let heap = 0
    let firstDrained: number | undefined
    for (;;) {
      const lag = await totalLag()
      if (firstDrained === undefined && lag < backlog) firstDrained = performance.now()
      heap = Math.max(heap, process.memoryUsage().heapUsed)
      options.onProgress?.(`processors: ${(backlog - lag).toLocaleString('en-US')}/${backlog.toLocaleString('en-US')} records drained (summed over the consumer groups)`, lag === 0)
      if (lag === 0) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const ended = performance.now()
    const alongside = stopAlongside?.()
    const seconds = (ended - started) / 1_000
    const busyShare = performance.eventLoopUtilization(loopBefore).utilization
    const cpuAfter = mainThreadCpuSeconds()
    const cpuSeconds = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore
    if (profiler) await profiler.stop(options.profilePath!)
    await pipeline.stop()
    const processed = (events * backlog) / reads
    return {
      events,
      eventsPerSec: Math.round(processed / seconds),
      seconds: Math.round(seconds * 10) / 10,
      startSeconds: Math.round(((firstDrained ?? ended) - started) / 100) / 10,
      ...(await throughput(progress, events, reads)),
      heapMb: Math.round(heap / 2 ** 20),
      busyShare: Math.round(busyShare * 100) / 100,
      eventsPerBusySecond: Math.round(processed / (seconds * busyShare)),
      eventsPerCpuSecond: cpuSeconds === undefined ? undefined : Math.round(processed / cpuSeconds),
      referenceRecordsPerSec,
      ...(alongside ? { alongside } : {}),
    }
  } finally {
    await runtime.close()
    directory.remove()
  }
}

/** Raw rows the sink has written and records the jobs processed, from their metrics, every 100 ms until stopped. */
function sampleProgress(runtime: Runtime): { stop(): Promise<Array<{ at: number; rows: number; records: number }>> } {
  const samples: Array<{ at: number; rows: number; records: number }> = []
  const { sinkBatchRows, processedRecords } = runtime.metrics.metrics
  const sample = async () => {
    const rows = (await sinkBatchRows.get()).values.filter((value) => value.metricName?.endsWith('_sum') && String(value.labels.table).includes('events_')).reduce((sum, value) => sum + value.value, 0)
    const records = (await processedRecords.get()).values.reduce((sum, value) => sum + value.value, 0)
    samples.push({ at: performance.now(), rows, records })
  }
  const timer = setInterval(() => void sample(), 100)
  return {
    async stop() {
      clearInterval(timer)
      await sample()
      return samples
    },
  }
}

/**
 * Per second between the samples at 10 % and 90 % of the total: raw rows written (which move
 * at checkpoints) and records processed by every job (the processing itself), as events.
 */
async function throughput(sampler: ReturnType<typeof sampleProgress>, events: number, reads: number) {
  const samples = await sampler.stop()
  const rate = (value: (sample: (typeof samples)[number]) => number, total: number) => {
    const from = samples.find((sample) => value(sample) >= total * 0.1)
    const to = samples.find((sample) => value(sample) >= total * 0.9)
    if (!from || !to || to.at <= from.at) return 0
    return ((value(to) - value(from)) * 1_000) / (to.at - from.at)
  }
  return {
    steadyEventsPerSec: Math.round(rate((sample) => sample.rows, events)),
    processingEventsPerSec: Math.round((rate((sample) => sample.records, reads) * events) / reads),
  }
}

/**
 * Fills the log, keeping the encoded records, and measures the raw-row floor on them. A function of
 * its own so the records are garbage (and collected, with --expose-gc) before the processors start.
 */
async function fillLogAndMeasureFloor(runtime: Runtime, config: Config, total: number, onProgress?: (line: string, force?: boolean) => void) {
  const records: Record<Stream, Buffer[]> = { click: [], log: [], notification: [] }
  const events = await fillLog(runtime, config, total, (stream, record) => records[stream].push(record.value), onProgress)
  const clickhouse = await runtime.clickhouse()
  const floor = await rawRowFloor(clickhouse, records, {
    database: `${config.clickhouse.database}_reference`,
    insertAvro: config.clickhouse.url ? httpAvroInsert(clickhouse) : fileAvroInsert(clickhouse, join(config.dataDir, 'clickhouse-staging-reference')),
    batchRows: config.sink.maxBatchRows,
    logger: pino({ level: 'error' }),
    onProgress,
  })
  onProgress?.(`processors reference: ${floor.recordsPerSec.toLocaleString('en-US')} records/s`, true)
  ;(globalThis as { gc?: () => void }).gc?.()
  return { events, referenceRecordsPerSec: floor.recordsPerSec }
}

/**
 * Encodes `total` generated events onto the log. A function of its own so the generated traffic
 * is garbage before the processors start: held in the heap it would slow their collections down
 * and be measured as theirs. `keep` sees every record produced (the processors' reference).
 */
export async function fillLog(
  runtime: Runtime,
  config: Config,
  total: number,
  keep?: (stream: Stream, record: { key: string; value: Buffer }) => void,
  onProgress?: (line: string, force?: boolean) => void,
): Promise<number> {
  const bus = await runtime.bus()
  const codec = await runtime.codec()
  const now = Date.now()
  const traffic = generateTraffic({ seed: 9, events: total, startMs: now - 6 * 3_600_000, spanMs: 6 * 3_600_000 })
  const userAgents = new UserAgentParser()
  const bounds = { maxFutureMs: 86_400_000, retentionMs: 400 * 86_400_000 }
  const producer = bus.producer()
  for (let start = 0; start < traffic.length; start += 1_000) {
    const byTopic = new Map<string, Array<{ key: string; value: Buffer }>>()
    for (const item of traffic.slice(start, start + 1_000)) {
      let topic: string
      let record: { key: string; value: Buffer }
      if (item.stream === 'click') {
        const result = normaliseSegmentCall(item.payload, 0, { projectId: 'default', receivedAt: now, userAgent: '', country: null, bounds, userAgents })
        if (!result.ok) continue
        topic = config.topics.click
        record = { key: result.event.anonymous_id, value: codec.encode('click', result.event) }
      } else if (item.stream === 'log') {
        const result = normaliseLogLine(item.payload, 0, { projectId: 'default', receivedAt: now, bounds })
        if (!result.ok) continue
        topic = config.topics.log
        record = { key: result.event.service, value: codec.encode('log', result.event) }
      } else {
        const result = normaliseNotification(item.payload, 0, { projectId: 'default', receivedAt: now, bounds })
        if (!result.ok) continue
        topic = config.topics.notification
        record = { key: result.event.notification_id, value: codec.encode('notification', result.event) }
      }
      ;(byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)!).push(record)
      keep?.(item.stream, record)
    }
    await Promise.all([...byTopic].map(([topic, records]) => producer.send(topic, records)))
    onProgress?.(`filling the log: ${Math.min(traffic.length, start + 1_000).toLocaleString('en-US')}/${traffic.length.toLocaleString('en-US')} events`, start + 1_000 >= traffic.length)
  }
  return traffic.length
}

/**
 * The same bench in a child whose garbage collection runs on the JavaScript thread alone
 * (--single-threaded-gc), so that the thread's CPU time is all the processors' work on one core:
 * in-process, V8's helper threads collect in parallel and their CPU is not in eventsPerCpuSecond.
 */
export async function benchProcessorsOnOneThread(options: { events: number; stateStore?: Config['stateStore'] }): Promise<ProcessorFigure> {
  const child = spawn(process.execPath, [...EDDY_NODE_FLAGS, '--expose-gc', '--single-threaded-gc', '--import', 'tsx', import.meta.filename, 'one-thread', String(options.events), options.stateStore ?? 'lmdb'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`the one-thread processors bench exited with ${code}`)
  return JSON.parse(output.trim().split('\n').at(-1)!) as ProcessorFigure
}

if (process.argv[1] === import.meta.filename && process.argv[2] === 'one-thread') {
  process.stdout.write(`${JSON.stringify(await benchProcessors({ events: Number(process.argv[3]), stateStore: process.argv[4] as Config['stateStore'] }))}\n`)
}
