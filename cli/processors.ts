import { join } from 'node:path'
import type avro from 'avsc'
import type { Bus } from '../core/bus/port.ts'
import { fileAvroInsert, httpAvroInsert } from '../core/clickhouse/avro-insert.ts'
import { tableRowType } from '../core/clickhouse/avro-row-type.ts'
import type { ClickHouseClient } from '../core/clickhouse/client.ts'
import type { AvroCodec } from '../core/codec/avro-codec.ts'
import type { Config } from '../core/config/index.ts'
import type { ElasticsearchClient } from '../core/search/elasticsearch/client.ts'
import { BulkIndexer } from '../core/search/elasticsearch/indexer.ts'
import { dropExpiredIndices } from '../core/search/elasticsearch/indices.ts'
import { bindJobs, OUTPUT_TABLES } from '../processors/bindings.ts'
import { changelogCheckpoints } from '../processors/checkpoints/changelog/changelog-checkpoints.ts'
import { KafkaChangelogs } from '../processors/checkpoints/changelog/kafka-topic.ts'
import { changelogTopic } from '../processors/checkpoints/changelog/port.ts'
import { ClickHouseCheckpointStore } from '../processors/checkpoints/clickhouse-store.ts'
import { FileCheckpointStore } from '../processors/checkpoints/file-store.ts'
import { storeCheckpoints, wholeCheckpoints, type StateCheckpoints } from '../processors/checkpoints/state-checkpoints.ts'
import { defaultJobs } from '../processors/jobs/index.ts'
import { OutputWriter } from '../processors/outputs.ts'
import type { ConvergenceStatus, InsertSummary } from '../core/pipeline-status.ts'
import type { Convergence } from '../processors/reprocess/convergence.ts'
import { OperatorRuns } from '../processors/reprocess/operator-runs.ts'
import { startJob, type RunningJob } from '../processors/runner.ts'
import { ClickHouseBatchWriter } from '../processors/sinks/clickhouse-batch-writer.ts'
import { InsertStats } from '../processors/sinks/insert-stats.ts'
import { createHeapStateStore } from '../processors/state/heap-store.ts'
import { createLmdbStateStore } from '../processors/state/lmdb-store.ts'
import { stateCacheBytesPerPartition } from '../processors/state/store.ts'
import type { ConsumerGroup } from '../processors/status.ts'
import { runReprocess } from './commands/reprocess.ts'
import { startConvergence } from './convergence.ts'
import type { Runtime } from './runtime.ts'

/** A job as health and metrics read it: plain data, the same on either side of a thread. */
export interface JobSnapshot {
  readonly name: string
  readonly stats: ReturnType<RunningJob['stats']>
  readonly halted: ReturnType<RunningJob['halted']>
}

/** Everything a process reports of its processors, read at once. */
export interface ProcessorSnapshot {
  readonly jobs: readonly JobSnapshot[]
  readonly sink: InsertSummary
  readonly convergence?: ConvergenceStatus
  readonly stateBytesOnDisk: number
}

/** A job of a snapshot (this thread's processors or a worker's) as pipelineStatus reads one. */
export function jobOfSnapshot(job: JobSnapshot): RunningJob {
  return { name: job.name, stats: () => job.stats, halted: () => job.halted, stop: async () => {} }
}

/** The processors' part of a process: the jobs and everything they write through. */
export interface Processors {
  readonly jobs: readonly RunningJob[]
  /** The consumer groups the jobs are members of, for lag reports. */
  readonly groups: readonly ConsumerGroup[]
  readonly insertStats: InsertStats
  /** Automatic convergence, unless EDDY_CONVERGENCE_QUIET_MS=0. */
  readonly convergence?: Convergence
  /** Reprocess runs asked for over HTTP (`eddy reprocess` beside a running `eddy start`). */
  readonly reprocessRuns: OperatorRuns
  /** Jobs, sink, convergence and state store as they are now: what health and metrics report. */
  snapshot(): ProcessorSnapshot
  /** Drains the consumers, flushes the sinks, closes the state store; gives up writes to an unreachable store after a grace period. */
  stop(): Promise<void>
}

export interface ProcessorDependencies {
  readonly bus: Bus
  readonly codec: AvroCodec
  readonly clickhouse: ClickHouseClient
}

/** Starts every job with its sinks, checkpoints and convergence, on the thread this is called on. */
export async function startProcessors(runtime: Runtime, { bus, codec, clickhouse }: ProcessorDependencies): Promise<Processors> {
  const { config, logger } = runtime
  const metrics = runtime.metrics.metrics
  const elasticsearch = runtime.elasticsearch()
  const jobs: RunningJob[] = []
  const groups: ConsumerGroup[] = []
  let indexer: BulkIndexer | undefined
  let stopRetention: (() => void) | undefined
  let checkpoints: StateCheckpoints
  let closeChangelogs: (() => Promise<void>) | undefined
  let convergence: Convergence | undefined
  const insertStats = new InsertStats()
  const database = config.clickhouse.database
  const writer = new ClickHouseBatchWriter({
    ...config.sink,
    insertAvro: config.clickhouse.url ? httpAvroInsert(clickhouse) : fileAvroInsert(clickhouse, join(config.dataDir, 'clickhouse-staging')),
    logger: logger.child({ component: 'clickhouse-writer' }),
    onInsert: (table, rows, durationMs, error) => {
      insertStats.record(durationMs, error !== undefined)
      if (error !== undefined) return metrics.sinkFailures.inc({ table })
      metrics.sinkBatchRows.observe({ table }, rows)
      metrics.sinkInsertDuration.observe({ table }, durationMs / 1_000)
    },
  })
  // Embedded: the state store in the data dir is the checkpoint, and checkpoint files from
  // before it restore once. Distributed: the same store, and each job's changelog topic on
  // Kafka, from which any instance rebuilds a partition that moved to it; the whole checkpoints
  // ClickHouse held before the changelog restore once.
  const files = new FileCheckpointStore(join(config.dataDir, 'checkpoints'))
  const cacheBytes = stateCacheBytesPerPartition(config.stateCacheMb, defaultJobs().length, config.topics.partitions)
  if (config.kafkaBrokers.length > 0) {
    const kafkaChangelogs = new KafkaChangelogs({ brokers: config.kafkaBrokers, clientId: 'eddy', logger: logger.child({ component: 'changelog' }) })
    closeChangelogs = () => kafkaChangelogs.close()
    checkpoints = changelogCheckpoints({
      // As embedded: LMDB in the data dir with its cache, or the heap; a partition assigned here
      // again reads only what other instances wrote to its changelog meanwhile.
      store: config.stateStore === 'lmdb' ? createLmdbStateStore({ path: join(config.dataDir, 'state'), cacheBytes }) : createHeapStateStore({ cacheBytes }),
      changelog: (job) => kafkaChangelogs.topic(changelogTopic(config.topics.prefix, job)),
      partitions: config.topics.partitions,
      legacy: new ClickHouseCheckpointStore(clickhouse, database),
      metrics: {
        restored: (job, partition, records, repairs) => {
          metrics.changelogRestoredRecords.inc({ job }, records)
          if (repairs > 0) logger.info({ job, partition, repairs }, 'rolled back a checkpoint its previous owner did not finish writing to the changelog')
        },
        pending: (job, delta) => metrics.changelogPending.inc({ job }, delta),
      },
    })
  } else {
    checkpoints = config.stateStore === 'lmdb'
      ? storeCheckpoints(createLmdbStateStore({ path: join(config.dataDir, 'state'), cacheBytes }), files)
      : wholeCheckpoints(files, { cacheBytes })
  }
  if (elasticsearch) {
    indexer = new BulkIndexer({
      client: elasticsearch,
      prefix: config.topics.prefix,
      maxBatchDocs: config.sink.maxBatchRows,
      flushIntervalMs: config.sink.flushIntervalMs,
      logger: logger.child({ component: 'elasticsearch-indexer' }),
      onBulk: (documents, durationMs, error) => {
        if (error !== undefined) return metrics.sinkFailures.inc({ table: 'elasticsearch' })
        metrics.sinkBatchRows.observe({ table: 'elasticsearch' }, documents)
        metrics.sinkInsertDuration.observe({ table: 'elasticsearch' }, durationMs / 1_000)
      },
    })
    stopRetention = keepRetention(elasticsearch, config, logger)
  }
  // Every table's row type before any job starts: a table the migrations left out fails here.
  const rowTypes = new Map<string, avro.Type>()
  for (const table of Object.values(OUTPUT_TABLES)) rowTypes.set(table, await tableRowType(clickhouse, database, table))
  const jobList = defaultJobs()
  const bindings = bindJobs(jobList, { database, lateTopic: config.topics.late, dlqTopic: config.topics.dlq, rowTypes, search: indexer !== undefined })
  for (const [index, job] of jobList.entries()) {
    const groupId = `${config.topics.prefix}-${job.name}`
    groups.push({ group: groupId, topics: [config.topics[job.stream]], job: job.name })
    jobs.push(await startJob({
      job,
      groupId,
      topic: config.topics[job.stream],
      dlqTopic: config.topics.dlq,
      bus,
      codec,
      outputs: new OutputWriter(bindings[index]!, writer, bus.producer(), codec, indexer),
      checkpoints,
      checkpointIntervalMs: config.checkpointIntervalMs,
      logger: logger.child({ component: 'processor' }),
      metrics,
    }))
  }
  // Late events' windows recomputed from raw without anyone asking (EDDY_CONVERGENCE_QUIET_MS=0 is off).
  if (config.convergenceQuietMs > 0) convergence = startConvergence(runtime, bus, jobList, groups, metrics)
  // `eddy reprocess` while this process holds the embedded log and chDB comes here over HTTP.
  const reprocessRuns = new OperatorRuns({ run: (request, onProgress, signal) => runReprocess(runtime, request, { onProgress, signal }), clock: Date.now })

  return {
    jobs,
    groups,
    insertStats,
    ...(convergence ? { convergence } : {}),
    reprocessRuns,
    snapshot: () => ({
      jobs: jobs.map((job) => ({ name: job.name, stats: job.stats(), halted: job.halted() })),
      sink: insertStats.summary(),
      ...(convergence ? { convergence: convergence.status() } : {}),
      stateBytesOnDisk: checkpoints.stats().bytesOnDisk,
    }),
    async stop() {
      // Writes waiting on an unreachable store would hold the shutdown forever: after a grace
      // period they are given up. Their offsets were never committed; the next owner rewrites them.
      const giveUp = setTimeout(() => {
        logger.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'stores still unreachable at shutdown; giving up the uncommitted writes')
        writer.abort()
        indexer?.abort()
      }, SHUTDOWN_GRACE_MS)
      await Promise.all([convergence?.stop(), reprocessRuns.stop()])
      await Promise.allSettled(jobs.map((job) => job.stop()))
      stopRetention?.()
      await Promise.all([writer.close(), indexer?.close()])
      clearTimeout(giveUp)
      await checkpoints.close()
      await closeChangelogs?.()
    },
  }
}

/** How long a shutdown waits for writes to an unreachable ClickHouse or Elasticsearch. */
const SHUTDOWN_GRACE_MS = 15_000

/** Drops Elasticsearch indices past retention at start and every hour after (ClickHouse has its TTL). */
function keepRetention(client: ElasticsearchClient, config: Readonly<Config>, logger: Runtime['logger']): () => void {
  const sweep = () => {
    dropExpiredIndices(client, config.topics.prefix, config.retentionDays, Date.now(), logger)
      .catch((error: unknown) => logger.warn({ err: error }, 'Elasticsearch retention sweep failed; it runs again in an hour'))
  }
  sweep()
  const timer = setInterval(sweep, 3_600_000)
  timer.unref()
  return () => clearInterval(timer)
}
