/**
 * The Bus port: the durable log every service talks to. It maps 1:1 onto Kafka so that the
 * embedded log and the Kafka adapter are interchangeable; nothing here may need a feature
 * Kafka lacks.
 *
 * Offsets follow Kafka's convention: a record's offset is its position in the partition, and a
 * committed offset is the offset of the *next* record to read. Offsets are JS numbers (safe up to
 * 2^53, far beyond any partition's lifetime).
 */

export type Headers = Readonly<Record<string, string>>

export interface ProduceRecord {
  /** Records with the same key land in the same partition, in produce order. */
  readonly key: string | null
  readonly value: Buffer
  readonly headers?: Headers
  /** Event or create time in ms; defaults to the produce time. */
  readonly timestamp?: number
}

export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

export interface BusRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: Buffer
  readonly headers: Headers
  readonly timestamp: number
}

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

export interface TopicPartitionOffset extends TopicPartition {
  /** The next offset to read (Kafka convention). */
  readonly offset: number
}

export interface Batch extends TopicPartition {
  readonly records: readonly BusRecord[]
  /** Offset the next produced record of this partition will get (Kafka's high watermark). */
  readonly highWatermark: number
}

export interface Producer {
  /**
   * Appends the records to the topic. Resolves only once every record is durable (embedded: fsynced;
   * Kafka: acknowledged by all in-sync replicas). Rejects with a BusError if any record could not be
   * made durable; then none of them may be reported to a client as accepted.
   */
  send(topic: string, records: readonly ProduceRecord[]): Promise<RecordMetadata[]>
}

export interface RebalanceListener {
  /** Called before partitions are taken away; the consumer waits for it (checkpoint and commit here). */
  onRevoked?(partitions: readonly TopicPartition[]): Promise<void>
  /** Called after partitions are assigned, before their first batch (restore state here). */
  onAssigned?(partitions: readonly TopicPartition[]): Promise<void>
}

export interface ConsumerOptions {
  readonly groupId: string
  readonly topics: readonly string[]
  /** Where a partition without a committed offset starts. Default: 'earliest'. */
  readonly startFrom?: 'earliest' | 'latest'
  /** Upper bound of records in one batch. */
  readonly maxBatchRecords?: number
  readonly rebalance?: RebalanceListener
}

export type BatchHandler = (batch: Batch) => Promise<void>

/**
 * A member of a consumer group. Delivery is at-least-once: nothing is committed implicitly, and a
 * partition that moves to another member restarts from its last committed offset.
 * Batches of one partition are handled strictly one after another; different partitions may be
 * handled concurrently.
 */
export interface Consumer {
  run(handler: BatchHandler): Promise<void>
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>
  /** The next batch of that partition starts at `offset`. */
  seek(position: TopicPartitionOffset): void
  pause(partitions: readonly TopicPartition[]): void
  resume(partitions: readonly TopicPartition[]): void
  assignment(): TopicPartition[]
  /** Leaves the group after the batch in flight has been handled. */
  stop(): Promise<void>
}

export interface TopicSpec {
  readonly topic: string
  readonly partitions: number
  /** Delete data older than this (ms); undefined keeps it for ever. */
  readonly retentionMs?: number
  /** Delete the oldest data once a partition holds more than this (bytes). */
  readonly retentionBytes?: number
}

export interface PartitionOffsets {
  readonly partition: number
  /** First offset still retained. */
  readonly low: number
  /** Offset the next record will get. */
  readonly high: number
}

export interface Admin {
  /** Creates missing topics; existing ones are left as they are. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>
  listTopics(): Promise<string[]>
  topicOffsets(topic: string): Promise<PartitionOffsets[]>
  committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]>
}

export interface Bus {
  readonly kind: 'embedded' | 'kafka'
  producer(): Producer
  consumer(options: ConsumerOptions): Consumer
  admin(): Admin
  /** True while produce can be acknowledged (feeds /readyz and ingest's 503). */
  healthy(): boolean
  close(): Promise<void>
}

/** Errors thrown by bus adapters; `retriable` tells the retry helper whether to try again. */
export class BusError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly code: 'NOT_DURABLE' | 'DISK_FULL' | 'CLOSED' | 'UNKNOWN_TOPIC' | 'INVALID' | 'UNAVAILABLE',
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'BusError'
  }
}
