/**
 * A consumer-group member on kafkajs: joins on run(), hands batches to the handler through
 * BatchDelivery, commits only when told to, and maps seek/pause/resume onto kafkajs (remembering
 * them until kafkajs' consumer exists, as it only accepts them after run()).
 */
import type { Consumer as KafkajsConsumer, Kafka } from 'kafkajs'
import type { Logger } from 'pino'
import { BusError, type BatchHandler, type Consumer, type ConsumerOptions, type TopicPartition, type TopicPartitionOffset } from '../port.ts'
import { BatchDelivery } from './delivery.ts'
import { toBusError } from './errors.ts'
import type { ResolvedOptions } from './options.ts'
import { Rebalances } from './rebalance.ts'

const DEFAULT_MAX_BATCH_RECORDS = 500
const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export class KafkaConsumer implements Consumer {
  private state: 'idle' | 'running' | 'stopped' = 'idle'
  private starting: Promise<void> | undefined
  private stopping: Promise<void> | undefined
  private kafkajs: KafkajsConsumer | undefined
  private delivery: BatchDelivery | undefined
  private readonly rebalances: Rebalances
  private readonly paused = new Map<string, TopicPartition>()
  private readonly pendingSeeks = new Map<string, TopicPartitionOffset>()
  private readonly logger: Logger

  constructor(
    private readonly options: ConsumerOptions,
    private readonly kafka: Kafka,
    private readonly settings: ResolvedOptions,
    logger: Logger,
  ) {
    if (options.groupId === '') throw new BusError('groupId must not be empty', false, 'INVALID')
    if (options.topics.length === 0) throw new BusError('a consumer needs at least one topic', false, 'INVALID')
    this.logger = logger.child({ groupId: options.groupId })
    this.rebalances = new Rebalances(options.rebalance, this.logger)
  }

  /** Resolves once the member has joined and onAssigned has returned for its first assignment. */
  async run(handler: BatchHandler): Promise<void> {
    if (this.state !== 'idle') throw new BusError('run() was already called on this consumer', false, 'INVALID')
    this.state = 'running'
    this.starting = this.start(handler)
    await this.starting
  }

  private async start(handler: BatchHandler): Promise<void> {
    const { settings } = this
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      allowAutoTopicCreation: true,
    })
    this.kafkajs = consumer
    this.delivery = new BatchDelivery(handler, {
      rebalances: this.rebalances,
      isPaused: (topic, partition) => this.paused.has(key(topic, partition)),
      maxBatchRecords: this.options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS,
      retryBackoffMs: settings.consumerRetryBackoffMs,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      logger: this.logger,
    })
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.rebalances.joined(event.payload.memberAssignment))
    consumer.on(consumer.events.REBALANCING, () => this.logger.debug('group rebalancing'))
    consumer.on(consumer.events.CRASH, (event) => {
      this.logger.error({ err: event.payload.error, restart: event.payload.restart }, 'Kafka consumer crashed')
    })
    try {
      await consumer.connect()
      await consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.startFrom !== 'latest' })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
        eachBatch: this.delivery.eachBatch,
      })
    } catch (error) {
      await consumer.disconnect().catch(() => undefined)
      throw toBusError(error, `consumer ${this.options.groupId} could not join its group`)
    }
    // Requested before kafkajs' consumer existed.
    for (const tp of this.paused.values()) consumer.pause([{ topic: tp.topic, partitions: [tp.partition] }])
    for (const position of this.pendingSeeks.values()) this.seekNow(consumer, position)
    this.pendingSeeks.clear()
    await this.rebalances.settled()
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const { topic, partition } of offsets) {
      // As on the embedded log: a member commits only what it owns, so a stale one cannot rewind
      // the offset its successor already moved forward.
      if (!this.rebalances.owns(topic, partition)) {
        throw new BusError(`${topic}/${partition} is not assigned to this consumer (rebalanced away?)`, false, 'INVALID')
      }
    }
    if (offsets.length === 0 || this.kafkajs === undefined) return
    try {
      await this.kafkajs.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })))
    } catch (error) {
      throw toBusError(error, `could not commit offsets of ${this.options.groupId}`)
    }
  }

  seek(position: TopicPartitionOffset): void {
    if (this.kafkajs === undefined || this.starting === undefined) this.pendingSeeks.set(key(position.topic, position.partition), position)
    else this.seekNow(this.kafkajs, position)
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.set(key(tp.topic, tp.partition), tp)
    this.whenRunning((consumer) => consumer.pause(partitions.map(({ topic, partition }) => ({ topic, partitions: [partition] }))))
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(key(tp.topic, tp.partition))
    this.whenRunning((consumer) => consumer.resume(partitions.map(({ topic, partition }) => ({ topic, partitions: [partition] }))))
  }

  assignment(): TopicPartition[] {
    return this.rebalances.assignment()
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.state === 'running') {
        await this.starting?.catch(() => undefined)
        const consumer = this.kafkajs
        // No batch starts from here; kafkajs stops fetching what is paused.
        const owned = this.rebalances.assignment()
        if (consumer !== undefined && owned.length > 0) this.whenRunning(() => consumer.pause(owned.map(({ topic, partition }) => ({ topic, partitions: [partition] }))))
        await this.delivery?.stop()
        // Before leaving the group: here onRevoked truly runs before the partitions move.
        await this.rebalances.close()
        await consumer?.disconnect().catch((error: unknown) => this.logger.warn({ err: error }, 'leaving the group failed'))
      }
      this.state = 'stopped'
    })()
    return this.stopping
  }

  private seekNow(consumer: KafkajsConsumer, { topic, partition, offset }: TopicPartitionOffset): void {
    consumer.seek({ topic, partition, offset: String(offset) })
  }

  /** kafkajs throws from pause/resume before its run(); those are applied when run() gets there. */
  private whenRunning(action: (consumer: KafkajsConsumer) => void): void {
    if (this.kafkajs === undefined) return
    try {
      action(this.kafkajs)
    } catch (error) {
      this.logger.debug({ err: error }, 'kafkajs consumer not running yet; applied after run()')
    }
  }
}
