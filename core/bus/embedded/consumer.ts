/**
 * A consumer-group member of the embedded bus: joins its group on run(), runs one worker per
 * assigned partition, and commits only when told to.
 */
import type { Logger } from 'pino'
import {
  BusError,
  type BatchHandler,
  type Consumer,
  type ConsumerOptions,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../port.ts'
import { partitionKey } from './assignment.ts'
import type { ConsumerGroup, GroupMember } from './group-coordinator.ts'
import type { OffsetsStore } from './offsets-store.ts'
import { PartitionWorker } from './partition-worker.ts'
import type { TopicRegistry } from './topics.ts'

export interface ConsumerDeps {
  readonly topics: TopicRegistry
  readonly offsets: OffsetsStore
  readonly group: ConsumerGroup
  readonly ready: () => Promise<void>
  readonly logger: Logger
  readonly retryBackoffMs: number
}

const DEFAULT_MAX_BATCH_RECORDS = 500

export class EmbeddedConsumer implements Consumer, GroupMember {
  readonly memberId: string
  readonly topics: readonly string[]
  private handler: BatchHandler | undefined
  private readonly workers = new Map<string, PartitionWorker>()
  private readonly owned = new Map<string, TopicPartition>()
  private readonly paused = new Set<string>()
  private readonly pendingSeeks = new Map<string, number>()
  private state: 'idle' | 'running' | 'stopped' = 'idle'
  private stopping: Promise<void> | undefined
  private readonly logger: Logger

  constructor(
    private readonly options: ConsumerOptions,
    private readonly deps: ConsumerDeps,
  ) {
    if (options.groupId === '') throw new BusError('groupId must not be empty', false, 'INVALID')
    if (options.topics.length === 0) throw new BusError('a consumer needs at least one topic', false, 'INVALID')
    this.memberId = deps.group.nextMemberId()
    this.topics = [...options.topics]
    this.logger = deps.logger.child({ groupId: options.groupId, memberId: this.memberId })
  }

  /** Resolves once the member has joined and received its first assignment (as kafkajs' run does). */
  async run(handler: BatchHandler): Promise<void> {
    if (this.state !== 'idle') throw new BusError('run() was already called on this consumer', false, 'INVALID')
    this.state = 'running'
    this.handler = handler
    await this.deps.ready()
    for (const topic of this.topics) await this.deps.topics.getOrCreate(topic)
    if (this.stopping !== undefined) return
    await this.deps.group.join(this)
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const { topic, partition } of offsets) {
      // Kafka rejects commits from a member that no longer owns the partition; so do we, so a
      // stale member cannot rewind the offset its successor already moved forward.
      if (!this.owned.has(partitionKey(topic, partition))) {
        throw new BusError(`${topic}/${partition} is not assigned to this consumer (rebalanced away?)`, false, 'INVALID')
      }
    }
    await this.deps.offsets.commit(this.options.groupId, offsets)
  }

  seek(position: TopicPartitionOffset): void {
    const key = partitionKey(position.topic, position.partition)
    const worker = this.workers.get(key)
    if (worker === undefined) this.pendingSeeks.set(key, position.offset)
    else worker.seek(position.offset)
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.paused.add(partitionKey(topic, partition))
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition)
      this.paused.delete(key)
      this.workers.get(key)?.wake()
    }
  }

  assignment(): TopicPartition[] {
    return [...this.owned.values()]
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.state === 'running') await this.deps.group.leave(this)
      this.state = 'stopped'
    })()
    return this.stopping
  }

  async revoke(partitions: readonly TopicPartition[]): Promise<void> {
    const keys = partitions.map(({ topic, partition }) => partitionKey(topic, partition))
    await Promise.all(keys.map((key) => this.workers.get(key)?.stop()))
    for (const key of keys) this.workers.delete(key)
    try {
      await this.options.rebalance?.onRevoked?.(partitions)
    } catch (error) {
      this.logger.error({ err: error }, 'onRevoked failed')
    }
    for (const key of keys) this.owned.delete(key)
    this.logger.debug({ partitions }, 'partitions revoked')
  }

  async assign(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) this.owned.set(partitionKey(tp.topic, tp.partition), tp)
    try {
      await this.options.rebalance?.onAssigned?.(partitions)
    } catch (error) {
      this.logger.error({ err: error }, 'onAssigned failed')
    }
    await Promise.all(partitions.map((tp) => this.startWorker(tp)))
    this.logger.debug({ partitions }, 'partitions assigned')
  }

  private async startWorker({ topic, partition }: TopicPartition): Promise<void> {
    const key = partitionKey(topic, partition)
    const log = this.deps.topics.get(topic)?.partitions[partition]
    if (log === undefined || this.handler === undefined) return
    const committed = await this.deps.offsets.committed(this.options.groupId, topic, partition)
    // Read after the await: a seek issued meanwhile (e.g. from onAssigned) must win.
    const start = this.pendingSeeks.get(key) ?? committed ?? (this.options.startFrom === 'latest' ? log.high : log.low)
    this.pendingSeeks.delete(key)
    const worker = new PartitionWorker(
      {
        partition: log,
        handler: this.handler,
        maxBatchRecords: this.options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS,
        isPaused: () => this.paused.has(key),
        retryBackoffMs: this.deps.retryBackoffMs,
        logger: this.logger,
      },
      start,
    )
    this.workers.set(key, worker)
  }
}
