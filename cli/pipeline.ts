import type { FastifyInstance } from 'fastify'
import { join } from 'node:path'
import type { Config } from '../core/config/index.ts'
import { LiveFeed } from '../ingest/live-feed.ts'
import { InsertStats } from '../processors/sinks/insert-stats.ts'
import { EventPublisher } from '../ingest/publisher.ts'
import type { WebhookOptions } from '../ingest/webhooks/options.ts'
import { ClickHouseCheckpointStore } from '../processors/checkpoints/clickhouse-store.ts'
import { FileCheckpointStore } from '../processors/checkpoints/file-store.ts'
import { changelogCheckpoints } from '../processors/checkpoints/changelog/changelog-checkpoints.ts'
import { KafkaChangelogs } from '../processors/checkpoints/changelog/kafka-topic.ts'
import { changelogTopic } from '../processors/checkpoints/changelog/port.ts'
import { storeCheckpoints, wholeCheckpoints, type StateCheckpoints } from '../processors/checkpoints/state-checkpoints.ts'
import { createHeapStateStore } from '../processors/state/heap-store.ts'
import { createLmdbStateStore } from '../processors/state/lmdb-store.ts'
import { bindJobs, OUTPUT_TABLES } from '../processors/bindings.ts'
import { defaultJobs } from '../processors/jobs/index.ts'
import { stateCacheBytesPerPartition } from '../processors/state/store.ts'
import { recordProcessorStatus } from '../processors/metrics.ts'
import type { Convergence } from '../processors/reprocess/convergence.ts'
import { startConvergence } from './convergence.ts'
import { OperatorRuns } from '../processors/reprocess/operator-runs.ts'
import { runReprocess } from './commands/reprocess.ts'
import { OutputWriter } from '../processors/outputs.ts'
import { fileAvroInsert, httpAvroInsert } from '../core/clickhouse/avro-insert.ts'
import type avro from 'avsc'
import { tableRowType } from '../core/clickhouse/avro-row-type.ts'
import type { ElasticsearchClient } from '../core/search/elasticsearch/client.ts'
import { BulkIndexer } from '../core/search/elasticsearch/indexer.ts'
import { dropExpiredIndices } from '../core/search/elasticsearch/indices.ts'
import { ElasticsearchSearchStore } from '../core/search/elasticsearch/store.ts'
import { startJob, type RunningJob } from '../processors/runner.ts'
import type { ProjectHealth } from '../core/pipeline-status.ts'
import { AUTH_FAILURE_TIER, AuthFailureThrottle } from '../core/http/auth-throttle.ts'
import { trustedProxies } from '../core/http/trusted-proxies.ts'
import { pipelineIngestRate, projectIngestRate } from '../core/live/ingest-rate.ts'
import { pipelineStatus, type ConsumerGroup } from '../processors/status.ts'
import { ClickHouseBatchWriter } from '../processors/sinks/clickhouse-batch-writer.ts'
import { runMigrations, type Runtime } from './runtime.ts'
import { buildServer } from './server.ts'

export interface Roles {
  readonly ingest: boolean
  readonly process: boolean
  readonly api: boolean
}

export interface RunningPipeline {
  readonly server: FastifyInstance
  readonly url: string
  readonly jobs: readonly RunningJob[]
  /** The consumer groups this process is a member of, for lag reports. */
  readonly groups: readonly ConsumerGroup[]
  stop(): Promise<void>
}

/**
 * Starts the parts of the pipeline a process plays. `eddy start` plays all three in one process;
 * with Kafka and a ClickHouse server each can run as its own process and scale on its own.
 */
export async function startPipeline(runtime: Runtime, roles: Roles): Promise<RunningPipeline> {
  const { config, logger } = runtime
  const metrics = runtime.metrics.metrics
  // Ingest alone writes only to the bus: it neither needs ClickHouse nor migrates it.
  const clickhouse = roles.process || roles.api ? await runtime.clickhouse() : undefined
  if (clickhouse) await runMigrations(runtime, { searchTemplates: roles.process })
  const elasticsearch = runtime.elasticsearch()
  const needsBus = roles.ingest || roles.process
  const bus = needsBus ? await runtime.bus() : undefined
  const codec = needsBus ? await runtime.codec() : undefined

  const jobs: RunningJob[] = []
  const groups: ConsumerGroup[] = []
  let writer: ClickHouseBatchWriter | undefined
  let indexer: BulkIndexer | undefined
  let stopRetention: (() => void) | undefined
  let checkpoints: StateCheckpoints | undefined
  let closeChangelogs: (() => Promise<void>) | undefined
  let convergence: Convergence | undefined
  let reprocessRuns: OperatorRuns | undefined
  const insertStats = new InsertStats()
  if (roles.process && bus && codec && clickhouse) {
    const database = config.clickhouse.database
    writer = new ClickHouseBatchWriter({
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
    reprocessRuns = new OperatorRuns({ run: (request, onProgress, signal) => runReprocess(runtime, request, { onProgress, signal }), clock: Date.now })
  }

  // Redis (or memory) backs rate limits, the query cache and the live feed. None is part of
  // readiness: each keeps working while Redis is down (docs/redis.md).
  // Built side by side: each waits up to 2 s for an absent Redis before starting without it.
  // The rate limiter also slows key guessing, which every process that answers keys needs (a
  // processors-only one serves the pipeline's health to operator keys).
  const [rateLimiter, hub, cache] = roles.ingest || roles.api
    ? await Promise.all([runtime.rateLimiter(), runtime.liveHub(), roles.api ? runtime.queryCache() : undefined])
    : [await runtime.rateLimiter()]
  const authThrottle = rateLimiter?.tiers[AUTH_FAILURE_TIER]
    ? new AuthFailureThrottle({
        limiter: rateLimiter,
        ...(config.ingest.trustedProxies?.length ? { trustedProxies: trustedProxies(config.ingest.trustedProxies) } : {}),
        logger: logger.child({ component: 'auth-throttle' }),
      })
    : undefined
  const liveFeed = roles.ingest && hub ? new LiveFeed({ hub, logger: logger.child({ component: 'live-feed' }) }) : undefined
  const projectIds = config.projects.map((project) => project.id)
  const ingestRate = hub ? () => pipelineIngestRate(hub, projectIds) : undefined
  const projectHealth = async (projectId: string): Promise<ProjectHealth> => {
    const ingest = hub ? await projectIngestRate(hub, projectId).catch(() => undefined) : undefined
    return { project: projectId, ...(ingest ? { ingest } : {}) }
  }
  const status = bus
    ? () => pipelineStatus(bus, groups, jobs, {
        deadLetterTopic: config.topics.dlq,
        lateTopic: config.topics.late,
        ...(roles.process ? { sink: () => insertStats.summary() } : {}),
        ...(convergence ? { convergence: () => convergence!.status() } : {}),
        ...(ingestRate ? { ingestRate: () => ingestRate().catch(() => undefined) } : {}),
      })
    : undefined
  // Lag, watermarks and state sizes are read when Prometheus scrapes, not kept current per batch.
  const stopCollecting = roles.process && status
    ? runtime.metrics.onScrape(async () => {
        recordProcessorStatus(metrics, await status(), groups, Date.now())
        if (checkpoints) metrics.stateStoreSize.set(checkpoints.stats().bytesOnDisk)
      })
    : undefined

  const clickhouseAnswers = async () => (clickhouse ? (await clickhouse.ping()).success : false)
  // Every process serves HTTP: health always (a processors-only process too), plus ingest and
  // the api where it plays them.
  const server = await buildServer({
    logger,
    bodyLimit: config.ingest.maxRequestBytes,
    health: {
      keys: runtime.keys,
      // A process that ingests is ready while the bus takes writes: its clients' events must keep
      // arriving while ClickHouse is away (processors pause and catch up; the api answers 503 per
      // query). Taking it out of a load balancer then would refuse data to save queries.
      // Elsewhere (api, processors alone) ClickHouse is what the process serves from.
      checks: {
        ...(bus ? { bus: async () => bus.healthy() } : {}),
        ...(clickhouse && !roles.ingest ? { clickhouse: clickhouseAnswers } : {}),
      },
      reported: clickhouse && roles.ingest ? { clickhouse: clickhouseAnswers } : {},
      pipelineStatus: status,
      projectHealth,
      ...(authThrottle ? { authThrottle } : {}),
      ...(reprocessRuns ? { reprocessRuns } : {}),
    },
    metrics: runtime.metrics,
    ingestRateLimiter: rateLimiter,
    ...(authThrottle ? { authThrottle } : {}),
    ingest: roles.ingest && bus && codec
      ? {
          config,
          keys: runtime.keys,
          logger,
          metrics,
          publisher: new EventPublisher({
            producer: bus.producer(),
            codec,
            topics: config.topics,
            timeoutMs: config.ingest.produceTimeoutMs,
            busHealthy: () => bus.healthy(),
            onPublished: liveFeed ? (stream, events) => liveFeed.record(stream, events) : undefined,
            metrics,
          }),
          webhooks: webhookOptions(config),
        }
      : undefined,
    api: roles.api && clickhouse && hub
      ? {
          keys: runtime.keys,
          clickhouse,
          database: config.clickhouse.database,
          rateLimiter,
          ...(authThrottle ? { authThrottle } : {}),
          cache: cache ? { cache, ...config.cache } : undefined,
          live: { hub, pipelineHealth: async (projectId) => ({ available: true, scope: 'project', ...(await projectHealth(projectId)) }) },
          ...(elasticsearch ? { search: new ElasticsearchSearchStore(elasticsearch, config.topics.prefix) } : {}),
          metrics: runtime.metrics,
        }
      : undefined,
  })
  const address = await server.listen({ port: config.port, host: config.host })
  const url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1')

  return {
    server,
    url,
    jobs,
    groups,
    async stop() {
      // Stop taking requests first, then drain the consumers, then flush the sink, then close stores.
      await server.close()
      stopCollecting?.()
      await liveFeed?.close()
      // Writes waiting on an unreachable store would hold the shutdown forever: after a grace
      // period they are given up. Their offsets were never committed; the next owner rewrites them.
      const giveUp = setTimeout(() => {
        logger.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'stores still unreachable at shutdown; giving up the uncommitted writes')
        writer?.abort()
        indexer?.abort()
      }, SHUTDOWN_GRACE_MS)
      await Promise.all([convergence?.stop(), reprocessRuns?.stop()])
      await Promise.allSettled(jobs.map((job) => job.stop()))
      stopRetention?.()
      await Promise.all([writer?.close(), indexer?.close()])
      clearTimeout(giveUp)
      await checkpoints?.close()
      await closeChangelogs?.()
      await runtime.close()
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

/** Provider secrets from each project's `webhooks`, and the URL Twilio signs. */
export function webhookOptions(config: Readonly<Config>): WebhookOptions {
  const projects = Object.fromEntries(config.projects.flatMap((project) => (project.webhooks ? [[project.id, project.webhooks]] : [])))
  return { projects, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) }
}

