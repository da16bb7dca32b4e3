/**
 * The Kafka adapter's settings: resolved once (defaults applied), frozen, and passed down. The
 * composition root builds them from the parsed config; nothing here reads process.env.
 */
import type { Logger } from 'pino'

export type Compression = 'none' | 'gzip'

/**
 * The library that produces: 'kafkajs' (the default) or 'platformatic' (@platformatic/kafka,
 * core/bus/kafka-platformatic/). Consumers and admin use kafkajs either way; see docs/kafka-client.md.
 */
export type KafkaClient = 'kafkajs' | 'platformatic'

export interface KafkaBusOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly logger: Logger
  /** Which library produces. Default 'kafkajs'. */
  readonly client?: KafkaClient
  /**
   * Producer batch compression. kafkajs ships only GZIP (snappy/lz4/zstd need native codecs).
   * Default 'none': GZIP costs CPU on the ingest path of a small machine, and Avro bodies are
   * already compact; turn it on when the network, not the CPU, is the bottleneck.
   * @platformatic/kafka could also write snappy and lz4 (WASM, no native code), but the kafkajs
   * consumers could not read them, so the bus offers only what every reader understands.
   */
  readonly compression?: Compression
  /** How long a send() waits for others to share its produce request (Kafka's linger.ms). Default 5. */
  readonly lingerMs?: number
  /** A produce request is sent at once when it holds this many records. Default 10,000. */
  readonly batchMaxRecords?: number
  /** ...or this many bytes of keys and values. Default 512 KiB, half the broker's message.max.bytes. */
  readonly batchMaxBytes?: number
  /** Broker-side wait for the in-sync replicas' acknowledgement. Default 30 s. */
  readonly ackTimeoutMs?: number
  /**
   * kafkajs retries of one request (connect, produce, admin) before the call fails. Default 5:
   * about 3 s of backoff, so a send to an unreachable cluster fails while ingest can still answer 503.
   */
  readonly retries?: number
  /** Replicas of topics created by ensureTopics. Default: min(3, brokers in the cluster). */
  readonly replicationFactor?: number
  readonly connectionTimeoutMs?: number
  readonly requestTimeoutMs?: number
  /** Longest a fetch waits on the broker for new data; also bounds how long stop() takes. Default 1,000. */
  readonly maxWaitTimeMs?: number
  readonly sessionTimeoutMs?: number
  readonly heartbeatIntervalMs?: number
  /** Partitions whose batches one consumer handles at the same time. Default 4. */
  readonly partitionsConsumedConcurrently?: number
  /** First delay before a failed batch handler gets the batch again; doubles up to 30 s. Default 1,000. */
  readonly consumerRetryBackoffMs?: number
  /** How often a metadata request checks that the cluster is reachable. Default 5,000. */
  readonly healthProbeIntervalMs?: number
}

export type ResolvedOptions = Readonly<Required<Omit<KafkaBusOptions, 'replicationFactor'>>> & {
  readonly replicationFactor: number | undefined
}

export function resolveOptions(options: KafkaBusOptions): ResolvedOptions {
  if (options.brokers.length === 0) throw new TypeError('the Kafka bus needs at least one broker')
  if (options.clientId === '') throw new TypeError('the Kafka bus needs a clientId')
  if (options.client !== undefined && options.client !== 'kafkajs' && options.client !== 'platformatic') {
    throw new TypeError(`unknown Kafka client '${String(options.client)}' (kafkajs or platformatic)`)
  }
  return Object.freeze({
    brokers: Object.freeze([...options.brokers]),
    clientId: options.clientId,
    logger: options.logger,
    client: options.client ?? 'kafkajs',
    compression: options.compression ?? 'none',
    lingerMs: options.lingerMs ?? 5,
    batchMaxRecords: options.batchMaxRecords ?? 10_000,
    batchMaxBytes: options.batchMaxBytes ?? 512 * 1024,
    ackTimeoutMs: options.ackTimeoutMs ?? 30_000,
    retries: options.retries ?? 5,
    replicationFactor: options.replicationFactor,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 3_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    maxWaitTimeMs: options.maxWaitTimeMs ?? 1_000,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
    consumerRetryBackoffMs: options.consumerRetryBackoffMs ?? 1_000,
    healthProbeIntervalMs: options.healthProbeIntervalMs ?? 5_000,
  })
}
