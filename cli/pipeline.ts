import type { FastifyInstance } from 'fastify'
import type { Config } from '../core/config/index.ts'
import { LiveFeed } from '../ingest/live-feed.ts'
import { EventPublisher } from '../ingest/publisher.ts'
import type { WebhookOptions } from '../ingest/webhooks/options.ts'
import { recordProcessorStatus } from '../processors/metrics.ts'
import { ElasticsearchSearchStore } from '../core/search/elasticsearch/store.ts'
import type { RunningJob } from '../processors/runner.ts'
import type { PipelineStatus, ProjectHealth } from '../core/pipeline-status.ts'
import { AUTH_FAILURE_TIER, AuthFailureThrottle } from '../core/http/auth-throttle.ts'
import { trustedProxies } from '../core/http/trusted-proxies.ts'
import { pipelineIngestRate, projectIngestRate } from '../core/live/ingest-rate.ts'
import { pipelineStatus, type ConsumerGroup } from '../processors/status.ts'
import { startProcessorThread } from './processor-thread/main.ts'
import { jobOfSnapshot, startProcessors, type ProcessorSnapshot } from './processors.ts'
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
  /**
   * The pipeline's health as `/api/v1/pipeline/health` reports it (lag, the jobs' positions and
   * stats, wherever they run), where this process has a bus.
   */
  readonly status?: () => Promise<PipelineStatus>
  /**
   * Settles, with why, if a part stops by itself: the processors' thread. `eddy start` then shuts
   * down and exits non-zero, so a supervisor restarts it, as it would after a crash on one thread.
   */
  readonly lost: Promise<Error>
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

  // Beside ingest or the api, the processors may take a thread of their own (EDDY_PROCESSOR_THREAD).
  const onThread = roles.process && (roles.ingest || roles.api) && config.processorThread === 'worker'
  const canProcess = roles.process && bus && codec && clickhouse
  const thread = canProcess && onThread ? await startProcessorThread(runtime, bus, clickhouse) : undefined
  const processors = canProcess && !onThread ? await startProcessors(runtime, { bus, codec, clickhouse }) : undefined
  const groups = processors?.groups ?? thread?.groups ?? []
  const reprocessRuns = processors?.reprocessRuns ?? thread?.reprocessRuns
  /** The processors as they are now, read once per health answer or scrape, wherever they run. */
  const processorsNow = async (): Promise<Partial<ProcessorSnapshot>> => {
    if (processors) return processors.snapshot()
    // A thread that is gone owns nothing any more: readiness says so (checks.processors).
    if (!thread?.alive()) return {}
    try {
      return await thread.snapshot()
    } catch (error) {
      // Gone meanwhile, or not answering: the bus's lag still tells how far processing trails.
      logger.warn({ err: error }, "the processors' thread did not report; health and metrics go without its jobs")
      return {}
    }
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
  const statusOf = (now: Partial<ProcessorSnapshot>) => pipelineStatus(bus!, groups, (now.jobs ?? []).map(jobOfSnapshot), {
    deadLetterTopic: config.topics.dlq,
    lateTopic: config.topics.late,
    ...(now.sink ? { sink: () => now.sink! } : {}),
    ...(now.convergence ? { convergence: () => now.convergence! } : {}),
    ...(ingestRate ? { ingestRate: () => ingestRate().catch(() => undefined) } : {}),
  })
  const status = bus ? async () => statusOf(await processorsNow()) : undefined
  // Lag, watermarks and state sizes are read when Prometheus scrapes, not kept current per batch.
  const stopCollecting = roles.process && bus
    ? runtime.metrics.onScrape(async () => {
        const now = await processorsNow()
        recordProcessorStatus(metrics, await statusOf(now), groups, Date.now())
        if (now.stateBytesOnDisk !== undefined) metrics.stateStoreSize.set(now.stateBytesOnDisk)
      })
    : undefined
  // What the processors' thread counts (records, checkpoints, inserts) joins this thread's /metrics.
  const stopThreadMetrics = thread ? runtime.metrics.alongside(() => thread.metrics()) : undefined

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
        ...(thread ? { processors: async () => thread.alive() } : {}),
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
    jobs: processors?.jobs ?? [],
    groups,
    ...(status ? { status } : {}),
    lost: thread?.lost ?? new Promise<Error>(() => {}),
    async stop() {
      // Stop taking requests first, then drain the consumers, then flush the sink, then close stores.
      await server.close()
      stopCollecting?.()
      await liveFeed?.close()
      await processors?.stop()
      await thread?.stop()
      stopThreadMetrics?.()
      await runtime.close()
    },
  }
}

/** Provider secrets from each project's `webhooks`, and the URL Twilio signs. */
export function webhookOptions(config: Readonly<Config>): WebhookOptions {
  const projects = Object.fromEntries(config.projects.flatMap((project) => (project.webhooks ? [[project.id, project.webhooks]] : [])))
  return { projects, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) }
}

