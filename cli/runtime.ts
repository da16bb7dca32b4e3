import { join } from 'node:path'
import { KeyRing } from '../core/auth/keys.ts'
import { createEmbeddedBus } from '../core/bus/embedded/index.ts'
import { createKafkaBus } from '../core/bus/kafka/index.ts'
import type { Bus, TopicSpec } from '../core/bus/port.ts'
import { createQueryCache, type QueryCache } from '../core/cache/index.ts'
import { createClickHouseClient, type ClickHouseClient } from '../core/clickhouse/client.ts'
import { migrate } from '../core/clickhouse/migrate.ts'
import { AvroCodec } from '../core/codec/avro-codec.ts'
import type { Config } from '../core/config/index.ts'
import { createElasticsearchClient, type ElasticsearchClient } from '../core/search/elasticsearch/client.ts'
import { installIndexTemplates } from '../core/search/elasticsearch/indices.ts'
import { createLiveHub, type LiveHub } from '../core/live/index.ts'
import type { Logger } from '../core/logging/logger.ts'
import { createProcessMetrics, type ProcessMetrics } from '../core/metrics/index.ts'
import { createRateLimiter, type RateLimiter, type Tiers } from '../core/rate-limit/index.ts'
import { ConfluentSchemaRegistry } from '../core/registry/confluent.ts'
import { LocalSchemaRegistry } from '../core/registry/local.ts'
import type { SchemaRegistry } from '../core/registry/port.ts'
import { loadSchemaCatalog } from '../schemas/avro/catalog.ts'
import { retry } from '../core/retry.ts'

/**
 * The composition root: the one place that turns configuration into adapters. Services receive
 * ports (Bus, SchemaRegistry, the ClickHouse client) and never learn which adapter they got.
 */
export interface Runtime {
  readonly config: Readonly<Config>
  readonly logger: Logger
  readonly keys: KeyRing
  /** This process's Prometheus registry and metrics; every part it plays updates these. */
  readonly metrics: ProcessMetrics
  bus(): Promise<Bus>
  codec(): Promise<AvroCodec>
  clickhouse(): Promise<ClickHouseClient>
  /** Undefined without ELASTICSEARCH_URL: search then runs on ClickHouse. */
  elasticsearch(): ElasticsearchClient | undefined
  /** Token buckets for the configured tiers (Redis when REDIS_URL is set); undefined when every tier is off. */
  rateLimiter(): Promise<RateLimiter | undefined>
  queryCache(): Promise<QueryCache>
  liveHub(): Promise<LiveHub>
  close(): Promise<void>
}

export class EmbeddedLogElsewhereError extends Error {}

export function topicSpecs(config: Readonly<Config>): TopicSpec[] {
  const { topics, retentionDays } = config
  const retentionMs = retentionDays * 86_400_000
  return [
    { topic: topics.click, partitions: topics.partitions, retentionMs },
    { topic: topics.log, partitions: topics.partitions, retentionMs },
    { topic: topics.notification, partitions: topics.partitions, retentionMs },
    { topic: topics.dlq, partitions: 1, retentionMs },
    { topic: topics.late, partitions: 1, retentionMs },
  ]
}

/**
 * Adapters made elsewhere: a worker thread's bus and ClickHouse are the main thread's, served to
 * it (cli/processor-thread), and its metrics are a registry of its own that the main one merges.
 */
export interface RuntimeOverrides {
  readonly bus?: Bus
  readonly clickhouse?: ClickHouseClient
  readonly metrics?: ProcessMetrics
}

export function createRuntime(config: Readonly<Config>, logger: Logger, overrides: RuntimeOverrides = {}): Runtime {
  let bus: Promise<Bus> | undefined = overrides.bus ? Promise.resolve(overrides.bus) : undefined
  let codec: Promise<AvroCodec> | undefined
  let clickhouse: Promise<ClickHouseClient> | undefined = overrides.clickhouse ? Promise.resolve(overrides.clickhouse) : undefined
  let rateLimiter: Promise<RateLimiter | undefined> | undefined
  let queryCache: Promise<QueryCache> | undefined
  let liveHub: Promise<LiveHub> | undefined
  let elasticsearch: ElasticsearchClient | undefined
  const closers: Array<() => Promise<void>> = []
  const metrics = overrides.metrics ?? createProcessMetrics({ thread: 'main', onCollectError: (error) => logger.warn({ err: error }, 'a metrics collector failed; its gauges keep their last values') })
  // Metrics made elsewhere are their maker's to close.
  if (!overrides.metrics) closers.push(async () => metrics.close())

  const runtime: Runtime = {
    config,
    logger,
    keys: new KeyRing(config.projects, config.operatorKeys),
    metrics,
    bus() {
      bus ??= (async () => {
        if (config.kafkaBrokers.length > 0) {
          const kafka = createKafkaBus({ brokers: config.kafkaBrokers, clientId: 'eddy', logger, client: config.kafkaClient })
          closers.push(() => kafka.close())
          await kafka.admin().ensureTopics(topicSpecs(config))
          return kafka
        }
        const embedded = createEmbeddedBus({ dataDir: config.dataDir, defaultPartitions: config.topics.partitions, logger })
        await embedded.ready
        closers.push(() => embedded.close())
        await embedded.admin().ensureTopics(topicSpecs(config))
        return embedded
      })()
      return bus
    },
    codec() {
      codec ??= (async () => {
        const registry: SchemaRegistry = config.schemaRegistryUrl
          ? new ConfluentSchemaRegistry(config.schemaRegistryUrl)
          : new LocalSchemaRegistry(join(config.dataDir, 'schema-registry.json'), loadSchemaCatalog().map((version) => version.schema))
        return AvroCodec.create(registry, { click: config.topics.click, log: config.topics.log, notification: config.topics.notification })
      })()
      return codec
    },
    clickhouse() {
      clickhouse ??= (async () => {
        const client = await createClickHouseClient(config, logger)
        closers.push(() => client.close())
        return client
      })()
      return clickhouse
    },
    elasticsearch() {
      if (!config.elasticsearchUrl) return undefined
      if (!elasticsearch) {
        const client = createElasticsearchClient(config.elasticsearchUrl)
        closers.push(() => client.close())
        elasticsearch = client
      }
      return elasticsearch
    },
    rateLimiter() {
      rateLimiter ??= (async () => {
        const tiers: Tiers = Object.fromEntries(Object.entries(config.rateLimits).filter(([, tier]) => tier !== undefined))
        if (Object.keys(tiers).length === 0) return undefined
        const limiter = await createRateLimiter({ redisUrl: config.redisUrl, prefix: `${config.topics.prefix}:`, tiers, logger: logger.child({ component: 'rate-limit' }) })
        closers.push(() => limiter.close())
        return limiter
      })()
      return rateLimiter
    },
    queryCache() {
      queryCache ??= (async () => {
        const cache = await createQueryCache({ redisUrl: config.redisUrl, prefix: `${config.topics.prefix}:`, logger: logger.child({ component: 'query-cache' }) })
        closers.push(() => cache.close())
        return cache
      })()
      return queryCache
    },
    liveHub() {
      liveHub ??= (async () => {
        const hub = await createLiveHub({ redisUrl: config.redisUrl, prefix: `${config.topics.prefix}:`, logger: logger.child({ component: 'live-hub' }) })
        closers.push(() => hub.close())
        return hub
      })()
      return liveHub
    },
    async close() {
      for (const close of closers.splice(0).reverse()) {
        try {
          await close()
        } catch (error) {
          logger.warn({ err: error }, 'error while closing')
        }
      }
    },
  }
  return runtime
}

/**
 * ClickHouse migrations, and the Elasticsearch index templates where `searchTemplates` (processors
 * and `eddy migrate`: they must exist before the first document, or Elasticsearch would guess the
 * mappings; an api only reads). Elasticsearch being unreachable is waited out for a few minutes,
 * the way a processor waits for Kafka, rather than failing the start at once.
 */
export async function runMigrations(runtime: Runtime, options: { searchTemplates?: boolean } = {}): Promise<void> {
  const result = await migrate(await runtime.clickhouse(), { database: runtime.config.clickhouse.database, retentionDays: runtime.config.retentionDays, logger: runtime.logger })
  runtime.logger.info({ applied: result.applied, alreadyApplied: result.alreadyApplied }, 'ClickHouse schema is up to date')
  const elasticsearch = runtime.elasticsearch()
  if (!elasticsearch || options.searchTemplates === false) return
  await retry(() => installIndexTemplates(elasticsearch, runtime.config.topics.prefix, runtime.logger), {
    attempts: 30,
    minDelayMs: 500,
    maxDelayMs: 10_000,
    onRetry: (error, attempt, delayMs) => runtime.logger.warn({ err: error, attempt, delayMs }, 'Elasticsearch did not take the index templates; retrying'),
  })
}
