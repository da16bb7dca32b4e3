/**
 * `npm run bench`: the figures a user needs to size a deployment, measured on this machine.
 * Each figure is the median of several runs with min/max; ingest also reports its physical
 * reference measured in the same run. Writes bench/results/<date>.json and .md.
 *
 *   npm run bench                       all sections
 *   npm run bench -- --only ingest,bus  some sections
 *   npm run bench -- --quick            one short run each (a smoke test, not a figure)
 *   npm run bench -- --profile DIR      CPU profiles of the timed stretch (processors) into DIR
 */
import { cpus, totalmem } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { benchApi, type ApiFigures } from './api.ts'
import { benchEmbeddedBus } from './bus.ts'
import { benchFreshness } from './freshness.ts'
import { benchKafka, type KafkaFigure } from './kafka.ts'
import { benchProcessors } from './processors.ts'
import { benchSearch, type SearchFigures } from './search.ts'
import { benchScaling, type ScalingFigure } from './scaling.ts'
import { benchIngest, type IngestFigure } from './ingest.ts'
import { summarise, type Summary } from './stats.ts'
import { benchWindowing } from './window.ts'

const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' }, profile: { type: 'string' } } })
const sections = new Set((values.only ?? 'ingest,bus,window,processors,freshness,api,search').split(','))
const quick = values.quick === true
if (values.profile !== undefined) mkdirSync(values.profile, { recursive: true })
const runs = quick ? 1 : 3
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)

interface Target {
  readonly figure: string
  readonly target: string
  readonly measured: string
  readonly met: boolean
}
const targets: Target[] = []
const target = (figure: string, want: string, measured: number, unit: string, met: boolean) =>
  targets.push({ figure, target: want, measured: `${measured.toLocaleString('en-US')} ${unit}`, met })

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  runs,
}

if (sections.has('ingest')) {
  const figures: IngestFigure[] = await benchIngest({ runs, durationSeconds: quick ? 2 : 5, onProgress: log })
  results.ingest = figures
  const at100 = figures.find((f) => f.batchSize === 100)
  if (at100) {
    target('ingest events/s at batch 100 (durable embedded log)', '≥ 120,000', at100.eddyEventsPerSec.median, 'events/s', at100.eddyEventsPerSec.median >= 120_000)
    target('ingest / bare parse+encode reference at batch 100', '≥ 0.5', at100.ratio, '×', at100.ratio >= 0.5)
  }
}

if (sections.has('bus')) {
  const produce: number[] = []
  const consume: number[] = []
  const p50: number[] = []
  const p99: number[] = []
  for (let run = 1; run <= runs; run++) {
    log(`embedded log: run ${run}/${runs}`)
    const directory = temporaryDirectory('bench-bus')
    try {
      const result = await benchEmbeddedBus({ dataDir: directory.path, records: quick ? 50_000 : 300_000 })
      produce.push(result.produceRecordsPerSec)
      consume.push(result.consumeRecordsPerSec)
      p50.push(result.ackP50Ms)
      p99.push(result.ackP99Ms)
    } finally {
      directory.remove()
    }
  }
  const bus = { produceRecordsPerSec: summarise(produce), consumeRecordsPerSec: summarise(consume), ackP50Ms: summarise(p50), ackP99Ms: summarise(p99) }
  results.bus = bus
  target('embedded log produce p99 ack', '≤ 20 ms', bus.ackP99Ms.median, 'ms', bus.ackP99Ms.median <= 20)
}

if (sections.has('window')) {
  const samples: Record<string, number[]> = {}
  for (let run = 1; run <= runs; run++) {
    log(`windowing: run ${run}/${runs}`)
    const result = await benchWindowing({ onProgress: (label, done, total) => { if (done === total) log(`windowing: ${label}`) } })
    for (const [key, value] of Object.entries(result)) (samples[key] ??= []).push(value)
  }
  const windowing = Object.fromEntries(Object.entries(samples).map(([key, list]) => [key, summarise(list)])) as Record<string, Summary>
  results.windowing = windowing
  const check = (key: string, label: string, want: number, unit: string, lowerIsBetter = false) => {
    const figure = windowing[key]
    if (figure) target(label, `${lowerIsBetter ? '≤' : '≥'} ${want.toLocaleString('en-US')} ${unit}`, figure.median, unit, lowerIsBetter ? figure.median <= want : figure.median >= want)
  }
  check('tumblingCountSumEventsPerSec', 'windowing (a) tumbling count+sum, 1,000 keys', 2_000_000, 'events/s')
  check('tumblingSketchesEventsPerSec', 'windowing (b) + HLL distinct + quantile sketch', 500_000, 'events/s')
  check('sessionsEventsPerSec', 'windowing (c) sessions over 100,000 users', 500_000, 'events/s')
  check('heapMbAt100kKeysSketches', 'windowing heap at 100,000 active keys (with sketches)', 300, 'MB', true)
}

if (sections.has('processors')) {
  const rates: number[] = []
  const perBusySecond: number[] = []
  const busy: number[] = []
  const heaps: number[] = []
  for (let run = 1; run <= runs; run++) {
    log(`processors (raw rows + all jobs → ClickHouse): run ${run}/${runs}`)
    const profilePath = values.profile === undefined ? undefined : join(values.profile, `processors-${run}.cpuprofile`)
    const result = await benchProcessors({ events: quick ? 30_000 : 150_000, profilePath })
    rates.push(result.eventsPerSec)
    perBusySecond.push(result.eventsPerBusySecond)
    busy.push(result.busyShare)
    heaps.push(result.heapMb)
  }
  const processors = { eventsPerSec: summarise(rates), eventsPerBusySecond: summarise(perBusySecond), busyShare: summarise(busy), heapMb: summarise(heaps) }
  results.processors = processors
  target('processors: raw rows + all three jobs into ClickHouse (chDB), one process, wall clock', '≥ 100,000 events/s', processors.eventsPerSec.median, 'events/s', processors.eventsPerSec.median >= 100_000)
  target('processors: the same per second of the processor thread\'s busy time (one core)', '≥ 100,000 events/s', processors.eventsPerBusySecond.median, 'events/s', processors.eventsPerBusySecond.median >= 100_000)
}

if (sections.has('freshness')) {
  log('freshness: 10,000 events/s offered for 20 s')
  const freshness = await benchFreshness({ rate: 10_000, seconds: quick ? 5 : 20 })
  results.freshness = freshness
  target('freshness p99 (202 → visible in clicks_1m) at 10,000 events/s', '≤ 2,000 ms', freshness.p99Ms, 'ms', freshness.p99Ms <= 2_000)
  if (process.env.KAFKA_BROKERS) {
    // Through a real broker: ingest produces to Kafka, the processors consume from it.
    const rate = Number(process.env.EDDY_BENCH_KAFKA_FRESHNESS_RATE ?? 10_000)
    log(`freshness on Kafka: ${rate.toLocaleString('en-US')} events/s offered for 20 s`)
    const onKafka = await benchFreshness({ rate, seconds: quick ? 5 : 20, env: { KAFKA_BROKERS: process.env.KAFKA_BROKERS, EDDY_TOPIC_PREFIX: `bench-freshness-${Date.now()}` } })
    results.freshnessKafka = onKafka
    target(`freshness p99 on Kafka at ${rate.toLocaleString('en-US')} events/s`, '≤ 3,000 ms', onKafka.p99Ms, 'ms', onKafka.p99Ms <= 3_000)
  }
}

if (sections.has('api')) {
  // One run: seeding a week of traffic dominates, and the figures are p99s over thousands of requests.
  const api = await benchApi({ seconds: quick ? 3 : 10, clicks: quick ? 20_000 : 100_000, clients: 1_000, onProgress: log })
  results.api = api
  const atRate = api.realtimeCachedAtRate
  target('api: cached /stats/realtime p99 at 500 req/s offered', '≤ 50 ms', atRate.p99Ms, 'ms', atRate.p99Ms <= 50 && atRate.requestsPerSec >= 490)
  target('live WebSocket: 1,000 clients at 1 msg/s, delivery lag p99', '≤ 100 ms', api.fanOut.lagP99Ms!, 'ms', api.fanOut.lagP99Ms! <= 100 && api.fanOut.connected === 1_000)
}

if (sections.has('search')) {
  // One run: loading a million lines dominates, and each figure is a p99 over many queries.
  const search = await benchSearch({ lines: quick ? 100_000 : 1_000_000, repeats: quick ? 10 : 50, elasticsearchUrl: process.env.ELASTICSEARCH_URL, onProgress: log })
  results.search = search
  const selective = search.clickhouse.queries['errors of one service with a phrase, 24h']!
  target(`search on ClickHouse: selective query p99 over ${search.lines.toLocaleString('en-US')} lines`, '≤ 200 ms', selective.p99Ms, 'ms', selective.p99Ms <= 200)
}

// The Kafka section needs a broker: `source infra/kafka/ci-env.sh` first, or point at your own.
const kafkaBrokers = process.env.KAFKA_BROKERS
if (sections.has('kafka') || (kafkaBrokers && values.only === undefined)) {
  if (!kafkaBrokers) throw new Error('the kafka section needs KAFKA_BROKERS')
  const kafka = await benchKafka({ brokers: kafkaBrokers, runs, durationSeconds: quick ? 2 : 5, onProgress: log })
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
  results.scaling = await benchScaling({ brokers: kafkaBrokers, clickhouseUrl, instances: [1, 2, 4], events: quick ? 20_000 : 100_000, onProgress: log })
}

results.targets = targets
const markdown = renderMarkdown(results, targets)
const day = new Date().toISOString().slice(0, 10)
const directory = values.out ?? join(import.meta.dirname, 'results')
mkdirSync(directory, { recursive: true })
writeFileSync(join(directory, `${day}.json`), `${JSON.stringify(results, null, 2)}\n`)
writeFileSync(join(directory, `${day}.md`), markdown)
process.stdout.write(markdown)
log(`wrote ${join(directory, `${day}.json`)} and .md`)

function renderMarkdown(data: Record<string, unknown>, checks: readonly Target[]): string {
  const fmt = (s: Summary) => `${s.median.toLocaleString('en-US')} (${s.min.toLocaleString('en-US')}–${s.max.toLocaleString('en-US')})`
  const lines = [`# Eddy benchmark ${String(data.date).slice(0, 16)}Z`, '', `Machine: ${JSON.stringify(data.machine)}; medians of ${runs} run(s), (min–max).`, '']
  if (data.ingest) {
    lines.push('## Ingest → durable embedded log (/v1/batch)', '', '| batch | eddy events/s | eddy p99 ms | reference events/s | reference p99 ms | ratio |', '|---|---|---|---|---|---|')
    for (const f of data.ingest as IngestFigure[]) lines.push(`| ${f.batchSize} | ${fmt(f.eddyEventsPerSec)} | ${fmt(f.eddyP99Ms)} | ${fmt(f.referenceEventsPerSec)} | ${fmt(f.referenceP99Ms)} | ${f.ratio} |`)
    lines.push('', 'Reference: a bare fastify route parsing the same bodies and Avro-encoding each event (no validation, no bus).', '')
  }
  if (data.bus) {
    const bus = data.bus as Record<string, Summary>
    lines.push('## Embedded log', '', '| figure | value |', '|---|---|', ...Object.entries(bus).map(([k, v]) => `| ${k} | ${fmt(v)} |`), '')
  }
  if (data.windowing) {
    const windowing = data.windowing as Record<string, Summary>
    lines.push('## Windowing engine (one core)', '', '| figure | value |', '|---|---|', ...Object.entries(windowing).map(([k, v]) => `| ${k} | ${fmt(v)} |`), '')
  }
  if (data.processors) {
    const processors = data.processors as Record<string, Summary>
    lines.push('## Processors (embedded log → raw rows + clickstream, logs, notifications jobs → chDB)', '', '| figure | value |', '|---|---|', ...Object.entries(processors).map(([k, v]) => `| ${k} | ${fmt(v)} |`), '')
  }
  if (data.freshness) {
    lines.push('## End-to-end freshness (202 → visible in clicks_1m)', '', '```json', JSON.stringify(data.freshness, null, 2), '```', '')
  }
  if (data.freshnessKafka) {
    lines.push('## End-to-end freshness on Kafka (ingest → broker → processors → chDB)', '', '```json', JSON.stringify(data.freshnessKafka, null, 2), '```', '')
  }
  if (data.api) {
    const api = data.api as ApiFigures
    lines.push('## Api under load (embedded, load from a child process on 127.0.0.1)', '', `${api.seededClicks.toLocaleString('en-US')} clicks over 7 days seeded; 10 connections, as fast as they go.`, '',
      '| endpoint | cached req/s | cached p99 ms | uncached req/s | uncached p99 ms |', '|---|---|---|---|---|',
      ...Object.entries(api.endpoints).map(([name, f]) => `| ${name} | ${f.cached.requestsPerSec} | ${f.cached.p99Ms} | ${f.uncached.requestsPerSec} | ${f.uncached.p99Ms} |`),
      '', `Cached realtime at ${api.realtimeCachedAtRate.offeredPerSec} req/s offered: ${api.realtimeCachedAtRate.requestsPerSec} req/s, p50 ${api.realtimeCachedAtRate.p50Ms} ms, p99 ${api.realtimeCachedAtRate.p99Ms} ms.`,
      '', '```json', JSON.stringify(api.fanOut, null, 2), '```', '')
  }
  if (data.kafka) {
    const kafka = data.kafka as KafkaFigure
    lines.push(`## Ingest → Kafka (batch ${kafka.batchSize}) next to kafka-producer-perf-test`, '', '| producer | events/s | p99 ms | / perf-test |', '|---|---|---|---|',
      ...(['kafkajs', 'platformatic'] as const).map((client) => `| eddy ingest, ${client} | ${fmt(kafka[client].eventsPerSec)} | ${fmt(kafka[client].p99Ms)} | ${kafka[client].ratio} |`),
      `| kafka-producer-perf-test (${kafka.recordBytes} B records, acks=all, idempotent, linger 5 ms) | ${fmt(kafka.producerPerfRecordsPerSec)} | | 1 |`, '')
  }
  if (data.scaling) {
    lines.push('## Processor instances on Kafka (separate processes, one consumer group per job, one ClickHouse over HTTP)', '', '| instances | events | seconds | events/s |', '|---|---|---|---|',
      ...(data.scaling as ScalingFigure[]).map((f) => `| ${f.instances} | ${f.events.toLocaleString('en-US')} | ${f.seconds} | ${f.eventsPerSec.toLocaleString('en-US')} |`),
      '', `On ${cpus().length} cores every instance competes with the others, the broker and ClickHouse for the same cores: the table shows the cost of splitting the work. With a core per instance (and ClickHouse on its own machine) the throughput adds up until Kafka partitions (EDDY_PARTITIONS) or ClickHouse inserts limit it.`, '')
  }
  if (data.search) {
    const search = data.search as SearchFigures
    const backends = [['ClickHouse (chDB)', search.clickhouse.queries], ...(search.elasticsearch ? [['Elasticsearch', search.elasticsearch.queries]] : [])] as const
    lines.push(`## Log search over ${search.lines.toLocaleString('en-US')} lines (store call, page of 50, project alpha)`, '', '| backend | query | matches | p50 ms | p99 ms |', '|---|---|---|---|---|',
      ...backends.flatMap(([backend, queries]) => Object.entries(queries).map(([name, f]) => `| ${backend} | ${name} | ${f.hits.toLocaleString('en-US')} | ${f.p50Ms} | ${f.p99Ms} |`)),
      '', `ClickHouse load: ${search.clickhouse.loadSeconds} s.${search.elasticsearch ? ` Elasticsearch indexing: ${search.elasticsearch.docsPerSec.toLocaleString('en-US')} documents/s (bulk of 5,000, two in flight).` : ' Elasticsearch: not measured (ELASTICSEARCH_URL unset).'}`, '')
  }
  lines.push('## Targets', '', '| figure | target | measured | met |', '|---|---|---|---|', ...checks.map((t) => `| ${t.figure} | ${t.target} | ${t.measured} | ${t.met ? 'yes' : 'no'} |`), '')
  return lines.join('\n')
}
