/** The markdown table `npm run bench` prints and writes beside the JSON: one section per stage. */
import { cpus } from 'node:os'
import type { ApiFigures, HttpSummary } from './api.ts'
import type { ClickHouseFigure } from './clickhouse.ts'
import type { FreshnessSummary } from './freshness.ts'
import type { PipelineCapacitySummary } from './pipeline.ts'
import type { ReprocessFigures } from './reprocess.ts'
import { renderReprocess } from './reprocess-markdown.ts'
import type { IngestFigure } from './ingest.ts'
import type { KafkaFigure } from './kafka.ts'
import type { StageMemory } from './memory.ts'
import type { ScalingFigure } from './scaling.ts'
import type { SearchFigures } from './search.ts'
import type { Summary } from './stats.ts'

export interface Target {
  readonly figure: string
  readonly target: string
  readonly measured: string
  readonly met: boolean
}

export interface BusFigures {
  readonly produceRecordsPerSec: Summary
  readonly consumeRecordsPerSec: Summary
  readonly ackP50Ms: Summary
  readonly ackP99Ms: Summary
  readonly referenceRecordsPerSec: Summary
  readonly referenceAckP50Ms: Summary
  readonly referenceAckP99Ms: Summary
  /** Records per fdatasync in the reference: how large its groups were. */
  readonly referenceRecordsPerSync: Summary
  /** produce / reference, from the medians. */
  readonly ratio: number
}

export interface WindowingFigures {
  readonly figures: Record<string, Summary>
  /** tumbling count+sum / its bare-loop reference, from the medians. */
  readonly ratio: number
}

export interface ProcessorFigures {
  readonly eventsPerSec: Summary
  readonly eventsPerBusySecond: Summary
  /** Per CPU second of the processors' thread; absent where /proc is (and in results before 2026-12-05). */
  readonly eventsPerCpuSecond?: Summary
  /** The same in a child with --single-threaded-gc: every collection on the thread, so its CPU is the whole cost on one core. */
  readonly eventsPerCpuSecondOneThread?: Summary
  readonly busyShare: Summary
  readonly heapMb: Summary
  readonly referenceRecordsPerSec: Summary
  /** eventsPerSec / reference, from the medians. */
  readonly ratio: number
}

const number = (value: number) => value.toLocaleString('en-US')
const fmt = (s: Summary) => `${number(s.median)} (${number(s.min)}–${number(s.max)})`

export function renderMarkdown(data: Record<string, unknown>, checks: readonly Target[]): string {
  const lines = [`# Eddy benchmark ${String(data.date).slice(0, 16)}Z`, '', `Machine: ${JSON.stringify(data.machine)}; medians of ${data.runs} run(s), (min–max).`, '']
  if (data.ingest) {
    lines.push('## Ingest → durable embedded log (/v1/batch)', '', '| batch | eddy events/s | eddy p99 ms | reference events/s | reference p99 ms | ratio |', '|---|---|---|---|---|---|')
    for (const f of data.ingest as IngestFigure[]) lines.push(`| ${f.batchSize} | ${fmt(f.eddyEventsPerSec)} | ${fmt(f.eddyP99Ms)} | ${fmt(f.referenceEventsPerSec)} | ${fmt(f.referenceP99Ms)} | ${f.ratio} |`)
    lines.push('', 'Reference: a bare fastify route parsing the same bodies and Avro-encoding each event (no validation, no bus).', '')
  }
  if (data.bus) {
    const bus = data.bus as BusFigures
    lines.push('## Embedded log (16 callers, 100-record batches of ~400 B values, 6 partitions)', '', '| figure | embedded log | reference | ratio |', '|---|---|---|---|',
      `| produce records/s | ${fmt(bus.produceRecordsPerSec)} | ${fmt(bus.referenceRecordsPerSec)} | ${bus.ratio} |`,
      `| ack p50 ms | ${fmt(bus.ackP50Ms)} | ${fmt(bus.referenceAckP50Ms)} | |`,
      `| ack p99 ms | ${fmt(bus.ackP99Ms)} | ${fmt(bus.referenceAckP99Ms)} | |`,
      `| consume records/s | ${fmt(bus.consumeRecordsPerSec)} | | |`,
      '', `Reference: raw append — the same key and value bytes appended by the same callers to one file, no framing, CRC or index, one write and one fdatasync per group like the log's group commit (${fmt(bus.referenceRecordsPerSync)} records per fdatasync): the floor of a durable log on this disk.`, '')
  }
  if (data.windowing) {
    const windowing = data.windowing as WindowingFigures
    lines.push('## Windowing engine (one core)', '', '| figure | value |', '|---|---|', ...Object.entries(windowing.figures).map(([k, v]) => `| ${k} | ${fmt(v)} |`),
      '', `Reference (tumblingCountSumReferenceEventsPerSec): a bare loop over the same events and batches updating a plain Map<string, {count, sum}> per window, emitting and dropping each window once the largest event time is 5 s past it — the data structure alone. Tumbling count+sum engine / bare loop: ${windowing.ratio}.`, '')
  }
  if (data.processors) {
    const processors = data.processors as ProcessorFigures
    const onHeap = data.processorsHeapState as ProcessorFigures | undefined
    const figures = ['eventsPerSec', 'eventsPerBusySecond', 'eventsPerCpuSecond', 'eventsPerCpuSecondOneThread', 'busyShare', 'heapMb', 'referenceRecordsPerSec'] as const
    lines.push('## Processors (embedded log → raw rows + clickstream, logs, notifications jobs → chDB)', '', `| figure | LMDB state store (default) |${onHeap ? ' heap state store |' : ''}`, `|---|---|${onHeap ? '---|' : ''}`,
      ...figures.flatMap((k) => (processors[k] ? [`| ${k} | ${fmt(processors[k])} |${onHeap?.[k] ? ` ${fmt(onHeap[k])} |` : ''}`] : [])),
      `| ratio (eventsPerSec / reference) | ${processors.ratio} |${onHeap ? ` ${onHeap.ratio} |` : ''}`,
      '', 'eventsPerBusySecond divides by the time the processors\' thread was busy (event-loop utilisation), which includes the time it waited for a core while chDB\'s threads ran on both; eventsPerCpuSecond divides by the CPU time that thread actually used (Linux /proc), garbage collection on V8\'s helper threads not included; eventsPerCpuSecondOneThread is the same bench run again in a child with --single-threaded-gc, every collection on that thread, so its CPU time is the processors\' whole cost on one core.',
      '', 'Reference (referenceRecordsPerSec): the same records Avro-decoded with avsc (as the jobs need them) and their bodies stored as the sink stores raw events — one Avro object container per batch of the sink\'s size, inserted one after another through the same staged file — on the same chDB, before the processors start: the floor of the raw-row path alone, without the jobs\' aggregates.', '')
  }
  if (data.clickhouse) {
    const clickhouse = data.clickhouse as ClickHouseFigure
    lines.push(`## ClickHouse insert (chDB, ${number(clickhouse.rows)} events_click rows from the traffic model)`, '', '| path | rows/s |', '|---|---|',
      `| Eddy's sink: the ClickHouseBatchWriter's raw path, ${number(clickhouse.batchRows)} rows or ${clickhouse.flushIntervalMs} ms, Avro containers through a staged file, ${number(clickhouse.eddyInserts)} insert(s) per run | ${fmt(clickhouse.eddyRowsPerSec)} |`,
      `| reference in the writer's format: bare Avro containers through the same staged file, ${number(clickhouse.batchRows)}-row batches one after another | ${fmt(clickhouse.avroReferenceRowsPerSec)} |`,
      `| reference: bare client.insert, JSONEachRow, the same batches | ${fmt(clickhouse.referenceRowsPerSec)} |`,
      '', `Eddy / Avro reference: ${clickhouse.avroRatio}. Eddy / JSONEachRow reference: ${clickhouse.ratio}.`,
      '', 'The writer is fed as the job runner feeds it (one caller per partition, 5,000-row batches, up to 8 writes in flight), so its inserts may overlap. The same-format reference is the floor of the writer\'s own path; the JSONEachRow one is what a plain client would do with the same events.', '')
  }
  if (data.pipeline) {
    const pipeline = data.pipeline as PipelineCapacitySummary
    // Side by side where the run measured them: the default, everything on one thread, ingest alone.
    const measured: Array<[string, unknown]> = [['processors on a worker (default)', pipeline], ['one thread (EDDY_PROCESSOR_THREAD=main)', data.pipelineOneThread], ['ingest alone', data.pipelineIngestAlone]]
    const columns = measured.filter((column): column is [string, PipelineCapacitySummary] => column[1] !== undefined)
    const row = (figure: string, pick: (summary: PipelineCapacitySummary) => Summary, alone = true) =>
      `| ${figure} | ${columns.map(([name, summary]) => (alone || name !== 'ingest alone' ? fmt(pick(summary)) : '–')).join(' | ')} |`
    lines.push(`## Whole pipeline in one process (eddy start, embedded: ingest + processors + api + chDB)`, '',
      `${number(pipeline.events)} events of the traffic model (60 % clicks, 30 % logs, 10 % notifications) offered as fast as they are accepted by a sender on the same machine (${pipeline.concurrency} requests of 100 in flight), a fresh data dir each run.`, '',
      `| figure | ${columns.map(([name]) => name).join(' | ')} |`, `|---|${columns.map(() => '---|').join('')}`,
      row('events stored/s (first request → last raw row in ClickHouse)', (summary) => summary.eventsPerSec, false),
      row('events accepted/s (202s while sending)', (summary) => summary.acceptedPerSec),
      row("p99 of the sender's requests, ms (100 events each, first attempt → 202)", (summary) => summary.ingestP99Ms),
      row('seconds from the last 202 to the last raw row', (summary) => summary.drainSeconds, false),
      row('peak heap MB (the main thread)', (summary) => summary.peakHeapMb),
      '', 'Stored rows are counted every 500 ms. This is the capacity `npm run soak` offers half of (EDDY_SOAK_RATE=half-capacity); unlike the processors stage it pays for ingest, the api and the load generator on the same two cores. Ingest alone is the same process without the processors and the api, its events stored once the log has them; every column is at saturation (the sender sends as fast as it is answered), so a p99 is the wait at that column\'s own rate, not at one offered rate.', '')
  }
  for (const [key, title] of [['freshness', 'End-to-end freshness (202 → visible in clicks_1m)'], ['freshnessKafka', 'End-to-end freshness on Kafka (ingest → broker → processors → chDB)']] as const) {
    const freshness = data[key] as FreshnessSummary | undefined
    if (!freshness) continue
    lines.push(`## ${title}`, '', `${number(freshness.offeredEventsPerSec)} events/s offered for ${freshness.seconds} s per run, a fresh data dir each run; markers polled every 50 ms.`, '', '| figure | value |', '|---|---|',
      ...(['p50Ms', 'p99Ms', 'maxMs', 'samples', 'notSeen'] as const).map((k) => `| ${k} | ${fmt(freshness[k])} |`), '')
  }
  if (data.reprocess) lines.push(...renderReprocess(data.reprocess as ReprocessFigures))
  if (data.api) {
    const api = data.api as ApiFigures
    const http = (f: HttpSummary) => `${fmt(f.requestsPerSec)} | ${fmt(f.p99Ms)}`
    const rate = api.realtimeCachedAtRate
    lines.push('## Api under load (embedded, load from a child process on 127.0.0.1)', '',
      `${number(api.seededClicks)} clicks over 7 days seeded once; the measured phases ran ${api.runs} time(s) on them. 10 connections, as fast as they go.`, '',
      '| endpoint | cached req/s | cached p99 ms | uncached req/s | uncached p99 ms |', '|---|---|---|---|---|',
      ...Object.entries(api.endpoints).map(([name, f]) => `| ${name} | ${http(f.cached)} | ${http(f.uncached)} |`),
      '', `Cached realtime at ${rate.offeredPerSec} req/s offered: ${fmt(rate.requestsPerSec)} req/s, p50 ${fmt(rate.p50Ms)} ms, p99 ${fmt(rate.p99Ms)} ms.`,
      '', '| WebSocket fan-out | value |', '|---|---|', ...Object.entries(api.fanOut).map(([k, v]) => `| ${k} | ${fmt(v)} |`), '')
  }
  if (data.kafka) {
    const kafka = data.kafka as KafkaFigure
    lines.push(`## Ingest → Kafka (batch ${kafka.batchSize}) next to kafka-producer-perf-test`, '', '| producer | events/s | p99 ms | / perf-test |', '|---|---|---|---|',
      ...(['kafkajs', 'platformatic'] as const).map((client) => `| eddy ingest, ${client} | ${fmt(kafka[client].eventsPerSec)} | ${fmt(kafka[client].p99Ms)} | ${kafka[client].ratio} |`),
      `| kafka-producer-perf-test (${kafka.recordBytes} B records, acks=all, idempotent, linger 5 ms) | ${fmt(kafka.producerPerfRecordsPerSec)} | | 1 |`, '')
  }
  if (data.scaling) {
    lines.push('## Processor instances on Kafka (separate processes, one consumer group per job, one ClickHouse over HTTP)', '', '| instances | events | seconds | events/s |', '|---|---|---|---|',
      ...(data.scaling as ScalingFigure[]).map((f) => `| ${f.instances} | ${number(f.events)} | ${f.seconds} | ${number(f.eventsPerSec)} |`),
      '', `The broker and ClickHouse are pinned to the last of the ${cpus().length} cores and the instances, with the producer filling the topics, to the others (taskset): on 2 cores every instance shares one core, so the table shows the cost of splitting the work, not a speed-up. With a core per instance (and ClickHouse on its own machine) the throughput adds up until Kafka partitions (EDDY_PARTITIONS) or ClickHouse inserts limit it.`, '')
  }
  if (data.search) {
    const search = data.search as SearchFigures
    const backends = [['ClickHouse (chDB)', search.clickhouse.queries], ...(search.elasticsearch ? [['Elasticsearch', search.elasticsearch.queries]] : [])] as const
    lines.push(`## Log search over ${number(search.lines)} lines (store call, page of 50, project alpha)`, '', '| backend | query | matches | p50 ms | p99 ms |', '|---|---|---|---|---|',
      ...backends.flatMap(([backend, queries]) => Object.entries(queries).map(([name, f]) => `| ${backend} | ${name} | ${number(f.hits)} | ${f.p50Ms} | ${f.p99Ms} |`)),
      '', `ClickHouse load: ${search.clickhouse.loadSeconds} s.${search.elasticsearch ? ` Elasticsearch indexing: ${number(search.elasticsearch.docsPerSec)} documents/s (bulk of 5,000, two in flight).` : ' Elasticsearch: not measured (ELASTICSEARCH_URL unset).'} One run: loading the lines dominates, and each figure is a p99 over many queries.`, '')
  }
  if (data.stateStore) {
    const adapters = data.stateStore as Record<string, Record<string, Summary>>
    const figures = ['writesPerSec', 'readHitsPerSec', 'readMissesPerSec', 'scannedPerSec']
    lines.push('## State store (keys of a deduplicator, 16-byte values; writes in commits of 5,000 waited to disk)', '', `| store | ${figures.join(' | ')} |`, `|---|${figures.map(() => '---').join('|')}|`,
      ...Object.entries(adapters).map(([adapter, values]) => `| ${adapter} | ${figures.map((figure) => (values[figure] ? fmt(values[figure]) : '–')).join(' | ')} |`), '')
  }
  if (data.restore) {
    const { restart, move } = data.restore as { restart: Record<string, Summary>; move?: Record<string, Summary> }
    const row = (label: string, values: Record<string, Summary> | undefined, figure: string) => (values?.[figure] ? `| ${label} | ${fmt(values[figure]!)} |` : undefined)
    lines.push(`## Restore: a partition processing again after its process was lost (clickstream, ${number(restart.events!.median)} events of the traffic model)`, '', '| figure | median (min–max) |', '|---|---|',
      ...[
        row('restart: state store file, MB', restart, 'storeFileMb'),
        row('restart: `eddy start` killed -9 and started again until /readyz, s', restart, 'processStartSeconds'),
        row('restart: open the store, s', restart, 'openSeconds'),
        row('restart: restore the whole parts, s', restart, 'restoreSeconds'),
        row('restart: whole parts, bytes', restart, 'wholeBytes'),
        row('restart: first batch of 5,000 processed, s', restart, 'firstBatchSeconds'),
        row('restart: kill -9 to processing again, s', restart, 'totalSeconds'),
        row('move: changelog records read (no compaction yet: every checkpoint ever written)', move, 'changelogRecords'),
        row('move: changelog MB read', move, 'changelogMb'),
        row('move: changelog read, s', move, 'readSeconds'),
        row('move: whole parts restored, s', move, 'restoreSeconds'),
        row('move: assigned to processing again, s', move, 'seconds'),
      ].filter((line): line is string => line !== undefined),
      '', move ? 'A move on Kafka adds the consumer group\'s rebalance, and after a kill -9 the session timeout before the group notices.' : 'Move on Kafka: not measured (KAFKA_BROKERS unset).', '')
  }
  if (data.memory) lines.push(...memoryTable(data.memory as Record<string, StageMemory>))
  lines.push('## Targets', '', '| figure | target | measured | met |', '|---|---|---|---|', ...checks.map((t) => `| ${t.figure} | ${t.target} | ${t.measured} | ${t.met ? 'yes' : 'no'} |`), '')
  return lines.join('\n')
}

/** Where Eddy runs in each stage, so a reader knows whose memory the bench process's figure is. */
const HOSTED: Record<string, string> = {
  ingest: 'load generator (autocannon); Eddy is the child',
  bus: 'the embedded log',
  window: 'the windowing engine',
  processors: 'processors + chDB',
  clickhouse: 'batch writer + chDB',
  pipeline: 'ingest + api + chDB; the processors on a worker thread',
  'pipeline on one thread': 'ingest + processors + api + chDB, one thread',
  'pipeline: ingest alone': 'ingest + the embedded log',
  freshness: 'ingest + processors + api + chDB',
  reprocess: 'ingest + processors + api + chDB, the reprocess, the import; the live traffic and batch senders are children',
  api: 'ingest + processors + api + chDB',
  search: 'chDB (+ Elasticsearch client)',
  kafka: 'load generator; Eddy is the child',
  scaling: 'producer filling the topics; Eddy instances are children',
  restore: 'the restored partition; the killed writer and `eddy start` are children',
}

function memoryTable(memory: Record<string, StageMemory>): string[] {
  const children = (stage: StageMemory) => Object.entries(stage.childPeakRssMb).map(([role, mb]) => `${role}: ${number(mb)}`).join('; ') || '—'
  return [
    '## Memory per stage (MB)', '',
    '| stage | bench process hosts | bench peak RSS | bench peak heap | child processes, peak RSS |', '|---|---|---|---|---|',
    ...Object.entries(memory).map(([name, stage]) => `| ${name} | ${HOSTED[name] ?? ''} | ${number(stage.benchPeakRssMb)}${stage.rssSource === 'samples' ? ' (sampled)' : ''} | ${number(stage.benchPeakHeapMb)} | ${children(stage)} |`),
    '',
    'Bench process: the `npm run bench` process over the whole stage, references and set-up included. Its peak RSS is Linux\'s high-water mark (VmHWM), reset when the stage starts, or the largest of samples every 100 ms where marked; peak heap is the largest heapUsed of those samples (a peak inside a long synchronous loop is seen only at its end). Children: VmHWM read from /proc just before each was stopped, or, for children that exit on their own (the api\'s load generators, the freshness sender), the maxRSS they report; the largest over the stage\'s runs. The api stage\'s in-process Eddy is the bench process\'s figure.',
    '',
  ]
}
