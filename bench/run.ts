/**
 * `npm run bench`: the figures a user needs to size a deployment, measured on this machine.
 * Each figure is the median of several runs with min/max; each stage also reports its physical
 * reference measured in the same run (as a ratio) and its memory. Writes bench/results/<date>.json and .md.
 *
 *   npm run bench                            all sections
 *   npm run bench -- --only ingest,bus       some sections, written as <date>-ingest-bus.json (ingest, bus, window, processors,
 *                                            clickhouse, pipeline, freshness, reprocess, api, search,
 *                                            state, restore, kafka, scaling)
 *   npm run bench -- --quick                 one short run each (a smoke test, not a figure)
 *   npm run bench -- --out DIR               write the results there instead of bench/results
 *   npm run bench -- --profile DIR           CPU profiles of the timed stretch (processors) into DIR
 */
import { cpus, totalmem } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { benchApi } from './api.ts'
import { benchEmbeddedBus, benchRawAppend } from './bus.ts'
import { benchClickHouse } from './clickhouse.ts'
import { benchFreshnessRuns } from './freshness.ts'
import { benchPipelineCapacityRuns } from './pipeline.ts'
import { benchKafka } from './kafka.ts'
import { log, throttled } from './log.ts'
import { renderMarkdown, type BusFigures, type ProcessorFigures, type Target, type WindowingFigures } from './markdown.ts'
import { watchMemory, type MemoryWatch, type StageMemory } from './memory.ts'
import { benchProcessors, benchProcessorsOnOneThread } from './processors.ts'
import { benchReprocess, LIVE_RATE } from './reprocess.ts'
import { benchSearch } from './search.ts'
import { benchStateStore, type StateStoreFigures } from './state-store.ts'
import { benchMove, benchRestart, type MoveFigure, type RestartFigure } from './restore.ts'
import { benchScaling } from './scaling.ts'
import { benchIngest, type IngestFigure } from './ingest.ts'
import { summarise, type Summary } from './stats.ts'
import { benchWindowing } from './window.ts'

const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' }, profile: { type: 'string' } } })
const sections = new Set((values.only ?? 'ingest,bus,window,processors,clickhouse,pipeline,freshness,reprocess,api,search,state,restore').split(','))
const quick = values.quick === true
if (values.profile !== undefined) mkdirSync(values.profile, { recursive: true })
const runs = quick ? 1 : 3

const targets: Target[] = []
const target = (figure: string, want: string, measured: number, unit: string, met: boolean) =>
  targets.push({ figure, target: want, measured: `${measured.toLocaleString('en-US')} ${unit}`, met })
const ratio = (figure: Summary, reference: Summary) => Math.round((figure.median / reference.median) * 100) / 100

const memory: Record<string, StageMemory> = {}
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  runs,
  memory,
}

/** Runs one stage with its memory watched; children it starts report their peaks through `memory`. */
async function stage<T>(name: string, body: (memory: MemoryWatch) => Promise<T>): Promise<T> {
  log(`${name}: starting`)
  const watch = watchMemory()
  try {
    return await body(watch)
  } finally {
    const peak = (memory[name] = watch.stop())
    log(`${name}: done; bench process peak RSS ${peak.benchPeakRssMb} MB, peak heap ${peak.benchPeakHeapMb} MB`)
  }
}

if (sections.has('ingest')) {
  const figures: IngestFigure[] = await stage('ingest', (children) => benchIngest({ runs, durationSeconds: quick ? 2 : 5, onProgress: log, children }))
  results.ingest = figures
  const at100 = figures.find((f) => f.batchSize === 100)
  if (at100) {
    target('ingest events/s at batch 100 (durable embedded log)', '≥ 120,000', at100.eddyEventsPerSec.median, 'events/s', at100.eddyEventsPerSec.median >= 120_000)
    target('ingest / bare parse+encode reference at batch 100', '≥ 0.5', at100.ratio, '×', at100.ratio >= 0.5)
  }
}

if (sections.has('bus')) {
  const bus = await stage('bus', async (): Promise<BusFigures> => {
    const samples: Record<'produce' | 'consume' | 'p50' | 'p99' | 'reference' | 'referenceP50' | 'referenceP99' | 'perSync', number[]> = {
      produce: [], consume: [], p50: [], p99: [], reference: [], referenceP50: [], referenceP99: [], perSync: [],
    }
    const records = quick ? 50_000 : 300_000
    for (let run = 1; run <= runs; run++) {
      const directory = temporaryDirectory('bench-bus')
      try {
        // Alternated, so a neighbour's load on the shared disk does not always fall on the same side.
        for (const side of run % 2 === 1 ? ['log', 'raw'] : ['raw', 'log']) {
          const progress = throttled()
          if (side === 'log') {
            log(`embedded log: run ${run}/${runs}`)
            const result = await benchEmbeddedBus({ dataDir: directory.path, records, onProgress: (done, total) => progress(`embedded log: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} records produced, then consumed`) })
            samples.produce.push(result.produceRecordsPerSec)
            samples.consume.push(result.consumeRecordsPerSec)
            samples.p50.push(result.ackP50Ms)
            samples.p99.push(result.ackP99Ms)
          } else {
            log(`embedded log reference (raw append + fdatasync per group): run ${run}/${runs}`)
            const result = await benchRawAppend({ dataDir: directory.path, records, onProgress: (done, total) => progress(`raw append: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} records`) })
            samples.reference.push(result.recordsPerSec)
            samples.referenceP50.push(result.ackP50Ms)
            samples.referenceP99.push(result.ackP99Ms)
            samples.perSync.push(Math.ceil(records / 100) * 100 / result.syncs)
          }
        }
      } finally {
        directory.remove()
      }
    }
    const produce = summarise(samples.produce)
    const reference = summarise(samples.reference)
    return {
      produceRecordsPerSec: produce, consumeRecordsPerSec: summarise(samples.consume), ackP50Ms: summarise(samples.p50), ackP99Ms: summarise(samples.p99),
      referenceRecordsPerSec: reference, referenceAckP50Ms: summarise(samples.referenceP50), referenceAckP99Ms: summarise(samples.referenceP99),
      referenceRecordsPerSync: summarise(samples.perSync), ratio: ratio(produce, reference),
    }
  })
  results.bus = bus
  target('embedded log produce p99 ack', '≤ 20 ms', bus.ackP99Ms.median, 'ms', bus.ackP99Ms.median <= 20)
}

if (sections.has('window')) {
  const windowing = await stage('window', async (watch): Promise<WindowingFigures> => {
    const samples: Record<string, number[]> = {}
    for (let run = 1; run <= runs; run++) {
      log(`windowing: run ${run}/${runs}`)
      const result = await benchWindowing({
        onProgress: (label, done, total) => {
          // The passes are synchronous: the timer never samples while the events are alive.
          watch.sample()
          log(`windowing: ${label}, ${done === total ? 'done' : `${done + 1}/${total}`}`)
        },
      })
      for (const [key, value] of Object.entries(result)) (samples[key] ??= []).push(value)
    }
    const figures = Object.fromEntries(Object.entries(samples).map(([key, list]) => [key, summarise(list)])) as Record<string, Summary>
    return { figures, ratio: ratio(figures.tumblingCountSumEventsPerSec!, figures.tumblingCountSumReferenceEventsPerSec!) }
  })
  results.windowing = windowing
  const check = (key: string, label: string, want: number, unit: string, lowerIsBetter = false) => {
    const figure = windowing.figures[key]
    if (figure) target(label, `${lowerIsBetter ? '≤' : '≥'} ${want.toLocaleString('en-US')} ${unit}`, figure.median, unit, lowerIsBetter ? figure.median <= want : figure.median >= want)
  }
  check('tumblingCountSumEventsPerSec', 'windowing (a) tumbling count+sum, 1,000 keys', 2_000_000, 'events/s')
  check('tumblingSketchesEventsPerSec', 'windowing (b) + HLL distinct + quantile sketch', 500_000, 'events/s')
  check('sessionsEventsPerSec', 'windowing (c) sessions over 100,000 users', 500_000, 'events/s')
  check('heapMbAt100kKeysSketches', 'windowing heap at 100,000 active keys (with sketches)', 300, 'MB', true)
}

/** The processors bench on one state store: in-process runs, then runs with all collection on the thread. */
async function measureProcessors(stateStore: 'lmdb' | 'heap'): Promise<ProcessorFigures> {
  return stage(`processors (${stateStore} state)`, async (): Promise<ProcessorFigures> => {
    const samples: Record<'rate' | 'perBusySecond' | 'perCpuSecond' | 'busy' | 'heap' | 'reference', number[]> = { rate: [], perBusySecond: [], perCpuSecond: [], busy: [], heap: [], reference: [] }
    for (let run = 1; run <= runs; run++) {
      log(`processors (raw rows + all jobs → ClickHouse, ${stateStore} state), with the raw-row reference first: run ${run}/${runs}`)
      const profilePath = values.profile === undefined ? undefined : join(values.profile, `processors-${stateStore}-${run}.cpuprofile`)
      const result = await benchProcessors({ events: quick ? 30_000 : 150_000, profilePath, onProgress: throttled(), stateStore })
      samples.rate.push(result.eventsPerSec)
      samples.perBusySecond.push(result.eventsPerBusySecond)
      if (result.eventsPerCpuSecond !== undefined) samples.perCpuSecond.push(result.eventsPerCpuSecond)
      samples.busy.push(result.busyShare)
      samples.heap.push(result.heapMb)
      samples.reference.push(result.referenceRecordsPerSec)
    }
    const oneThread: number[] = []
    for (let run = 1; run <= runs; run++) {
      log(`processors again (${stateStore} state), garbage collection on the JavaScript thread only (its CPU time is then the whole cost on one core): run ${run}/${runs}`)
      const result = await benchProcessorsOnOneThread({ events: quick ? 30_000 : 150_000, stateStore })
      if (result.eventsPerCpuSecond !== undefined) oneThread.push(result.eventsPerCpuSecond)
    }
    const eventsPerSec = summarise(samples.rate)
    const referenceRecordsPerSec = summarise(samples.reference)
    return {
      eventsPerSec, eventsPerBusySecond: summarise(samples.perBusySecond),
      ...(samples.perCpuSecond.length > 0 ? { eventsPerCpuSecond: summarise(samples.perCpuSecond) } : {}),
      ...(oneThread.length > 0 ? { eventsPerCpuSecondOneThread: summarise(oneThread) } : {}),
      busyShare: summarise(samples.busy), heapMb: summarise(samples.heap),
      referenceRecordsPerSec, ratio: ratio(eventsPerSec, referenceRecordsPerSec),
    }
  })
}

if (sections.has('processors')) {
  // Both state stores in one run: the disk store (the default) against the heap one.
  const processors = await measureProcessors('lmdb')
  const onHeap = await measureProcessors('heap')
  results.processors = processors
  results.processorsHeapState = onHeap
  target('processors: raw rows + all three jobs into ClickHouse (chDB), one process, wall clock', '≥ 100,000 events/s', processors.eventsPerSec.median, 'events/s', processors.eventsPerSec.median >= 100_000)
  target('processors: the same per second of the processor thread\'s busy time (event-loop utilisation)', '≥ 100,000 events/s', processors.eventsPerBusySecond.median, 'events/s', processors.eventsPerBusySecond.median >= 100_000)
  if (processors.eventsPerCpuSecondOneThread) {
    const perCore = processors.eventsPerCpuSecondOneThread.median
    target('processors: the same per CPU second of the processor thread, all garbage collection on it (one core)', '≥ 100,000 events/s', perCore, 'events/s', perCore >= 100_000)
    if (onHeap.eventsPerCpuSecondOneThread) {
      const share = ratio(processors.eventsPerCpuSecondOneThread, onHeap.eventsPerCpuSecondOneThread)
      target('processors per CPU second (one core): disk state store / heap state store, same run', '≥ 0.85', share, '×', share >= 0.85)
    }
  }
}

if (sections.has('clickhouse')) {
  results.clickhouse = await stage('clickhouse', () => benchClickHouse({ rows: quick ? 20_000 : 200_000, runs, onProgress: log }))
}

if (sections.has('pipeline')) {
  // `eddy start` as it runs by default (the processors on a worker thread), then everything on one
  // thread, then ingest alone: what the threads buy, and what the rest costs a 202.
  const events = quick ? 30_000 : 300_000
  const pipeline = await stage('pipeline', (children) => benchPipelineCapacityRuns(runs, { events, mode: 'worker', onProgress: throttled(), children }))
  const oneThread = await stage('pipeline on one thread', (children) => benchPipelineCapacityRuns(runs, { events, mode: 'main', onProgress: throttled(), children }))
  const ingestAlone = await stage('pipeline: ingest alone', (children) => benchPipelineCapacityRuns(runs, { events, mode: 'ingest', onProgress: throttled(), children }))
  results.pipeline = pipeline
  results.pipelineOneThread = oneThread
  results.pipelineIngestAlone = ingestAlone
  target('whole pipeline in one process (eddy start), events/s stored', '≥ 50,000', pipeline.eventsPerSec.median, 'events/s', pipeline.eventsPerSec.median >= 50_000)
  const p99Share = ratio(pipeline.ingestP99Ms, ingestAlone.ingestP99Ms)
  target('ingest p99 at batch 100 in the whole pipeline / ingest alone, same sender', '≤ 1.2', p99Share, '×', p99Share <= 1.2)
}

if (sections.has('freshness')) {
  const seconds = quick ? 5 : 20
  const freshness = await stage('freshness', (children) => benchFreshnessRuns(runs, { rate: 10_000, seconds, onProgress: throttled(), children }))
  results.freshness = freshness
  target('freshness p99 (202 → visible in clicks_1m) at 10,000 events/s', '≤ 2,000 ms', freshness.p99Ms.median, 'ms', freshness.p99Ms.median <= 2_000)
  if (process.env.KAFKA_BROKERS) {
    // Through a real broker: ingest produces to Kafka, the processors consume from it.
    const rate = Number(process.env.EDDY_BENCH_KAFKA_FRESHNESS_RATE ?? 10_000)
    const brokers = process.env.KAFKA_BROKERS
    const onKafka = await stage('freshness on Kafka', (children) => benchFreshnessRuns(runs, {
      rate, seconds, label: 'freshness on Kafka', onProgress: throttled(), children,
      env: () => ({ KAFKA_BROKERS: brokers, EDDY_TOPIC_PREFIX: `bench-freshness-${Date.now()}` }),
    }))
    results.freshnessKafka = onKafka
    target(`freshness p99 on Kafka at ${rate.toLocaleString('en-US')} events/s`, '≤ 2,000 ms', onKafka.p99Ms.median, 'ms', onKafka.p99Ms.median <= 2_000)
  }
}

if (sections.has('reprocess')) {
  // One run of the million-event part even in full mode (it takes minutes); the import figure is the median of `runs`.
  const reprocess = await stage('reprocess', (children) => benchReprocess({ quick, runs, onProgress: throttled(), children }))
  results.reprocess = reprocess
  const { throughput, importVsIngest, lateCorrection } = reprocess
  const live = `${LIVE_RATE.toLocaleString('en-US')} events/s`
  target(`reprocess events/s / live processors' events/s over ${throughput.rawEvents.toLocaleString('en-US')} raw events, same run`, '≥ 1', throughput.ratio, '×', throughput.ratio >= 1)
  target('import events/s / ingest /v1/batch events/s at batch 100, same clicks', '≥ 0.8', importVsIngest.ratio, '×', importVsIngest.ratio >= 0.8)
  const during = throughput.freshnessDuringReprocess
  target(`freshness p99 of live traffic at ${live} while a reprocess runs`, '≤ 2,000 ms', during.p99Ms, 'ms', during.p99Ms <= 2_000 && during.notSeen === 0)
  const late = lateCorrection
  target('late record → its window corrected (automatic convergence), worst sample', '≤ 60 s', late.maxSeconds, 's', late.maxSeconds <= 60 && late.corrected === late.samples)
}

if (sections.has('api')) {
  // Seeded once (a week of traffic takes minutes); the measured phases are repeated on it.
  const api = await stage('api', (children) => benchApi({ seconds: quick ? 3 : 10, clicks: quick ? 20_000 : 100_000, clients: 1_000, runs, onProgress: log, children }))
  results.api = api
  const atRate = api.realtimeCachedAtRate
  target('api: cached /stats/realtime p99 at 500 req/s offered', '≤ 50 ms', atRate.p99Ms.median, 'ms', atRate.p99Ms.median <= 50 && atRate.requestsPerSec.median >= 490)
  target('live WebSocket: 1,000 clients at 1 msg/s, delivery lag p99', '≤ 100 ms', api.fanOut.lagP99Ms!.median, 'ms', api.fanOut.lagP99Ms!.median <= 100 && api.fanOut.connected!.median === 1_000)
}

if (sections.has('search')) {
  // One run: loading a million lines dominates, and each figure is a p99 over many queries.
  const search = await stage('search', () => benchSearch({ lines: quick ? 100_000 : 1_000_000, repeats: quick ? 10 : 50, elasticsearchUrl: process.env.ELASTICSEARCH_URL, onProgress: log }))
  results.search = search
  const selective = search.clickhouse.queries['errors of one service with a phrase, 24h']!
  target(`search on ClickHouse: selective query p99 over ${search.lines.toLocaleString('en-US')} lines`, '≤ 200 ms', selective.p99Ms, 'ms', selective.p99Ms <= 200)
}

if (sections.has('state')) {
  results.stateStore = await stage('state', async () => {
    const samples: Record<string, Record<string, number[]>> = {}
    for (let run = 1; run <= runs; run++) {
      log(`state store: run ${run}/${runs}`)
      const result = await benchStateStore({ keys: quick ? 50_000 : 300_000, onProgress: log })
      for (const [adapter, figures] of Object.entries(result)) {
        if (typeof figures !== 'object') continue
        for (const [figure, value] of Object.entries(figures as StateStoreFigures)) ((samples[adapter] ??= {})[figure] ??= []).push(value)
      }
    }
    return Object.fromEntries(Object.entries(samples).map(([adapter, figures]) => [adapter, Object.fromEntries(Object.entries(figures).map(([figure, list]) => [figure, summarise(list)]))]))
  })
}

if (sections.has('restore')) {
  const summariseRuns = <T extends object>(list: T[]) => Object.fromEntries(Object.keys(list[0]!).map((figure) => [figure, summarise(list.map((item) => (item as Record<string, number>)[figure]!))]))
  const restarts: RestartFigure[] = []
  const moves: MoveFigure[] = []
  results.restore = await stage('restore', async () => {
    for (let run = 1; run <= runs; run++) {
      log(`restore: kill -9 with a ${quick ? 200 : 1_536} MB state store, then start: run ${run}/${runs}`)
      restarts.push(await benchRestart({ events: quick ? 30_000 : 150_000, storeMb: quick ? 200 : 1_536, onProgress: throttled() }))
      if (process.env.KAFKA_BROKERS) {
        log(`restore: a partition moved to another instance through its changelog on Kafka: run ${run}/${runs}`)
        moves.push(await benchMove({ brokers: process.env.KAFKA_BROKERS, events: quick ? 30_000 : 150_000, onProgress: throttled() }))
      }
    }
    return { restart: summariseRuns(restarts), ...(moves.length > 0 ? { move: summariseRuns(moves) } : {}) }
  })
  const restart = (results.restore as { restart: Record<string, Summary> }).restart
  target(`restart: kill -9, then start until a partition processes again, ${restart.storeFileMb!.median.toLocaleString('en-US')} MB state store`, '≤ 10 s', restart.totalSeconds!.median, 's', restart.totalSeconds!.median <= 10)
  const move = (results.restore as { move?: Record<string, Summary> }).move
  if (move) target('partition moved to another instance on Kafka: changelog read, restored, first batch processed (the group rebalance comes on top)', '≤ 10 s', move.seconds!.median, 's', move.seconds!.median <= 10)
}

// The Kafka section needs a broker: `source infra/kafka/ci-env.sh` first, or point at your own.
const kafkaBrokers = process.env.KAFKA_BROKERS
if (sections.has('kafka') || (kafkaBrokers && values.only === undefined)) {
  if (!kafkaBrokers) throw new Error('the kafka section needs KAFKA_BROKERS')
  const kafka = await stage('kafka', (children) => benchKafka({ brokers: kafkaBrokers, runs, durationSeconds: quick ? 2 : 5, onProgress: log, children }))
  results.kafka = kafka
  for (const client of ['kafkajs', 'platformatic'] as const) {
    target(`ingest → Kafka (${client}) / kafka-producer-perf-test (same broker, record size)`, '≥ 0.5', kafka[client].ratio, '×', kafka[client].ratio >= 0.5)
  }
}

// The scaling table needs Kafka and a ClickHouse several processes can share:
// `source infra/kafka/ci-env.sh; source infra/clickhouse/ci-env.sh` first.
const clickhouseUrl = process.env.CLICKHOUSE_URL
if (sections.has('scaling') || (kafkaBrokers && clickhouseUrl && values.only === undefined)) {
  if (!kafkaBrokers || !clickhouseUrl) throw new Error('the scaling section needs KAFKA_BROKERS and CLICKHOUSE_URL')
  results.scaling = await stage('scaling', (children) => benchScaling({ brokers: kafkaBrokers, clickhouseUrl, instances: [1, 2, 4], events: quick ? 20_000 : 100_000, onProgress: log, children }))
}

results.targets = targets
const markdown = renderMarkdown(results, targets)
// A run of some sections is named after them, so it never overwrites the day's full run.
const name = `${new Date().toISOString().slice(0, 10)}${values.only === undefined ? '' : `-${[...sections].join('-')}`}`
const directory = values.out ?? join(import.meta.dirname, 'results')
mkdirSync(directory, { recursive: true })
writeFileSync(join(directory, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`)
writeFileSync(join(directory, `${name}.md`), markdown)
process.stdout.write(markdown)
log(`wrote ${join(directory, `${name}.json`)} and .md`)

