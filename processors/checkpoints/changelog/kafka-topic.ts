import { Admin, Consumer, FetchIsolationLevels, Producer } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { ChangelogRead, ChangelogRecord, ChangelogTopic, ReadRecord } from './port.ts'

export interface KafkaChangelogOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly logger: Logger
}

/** A send stays under the broker's default message.max.bytes (1 MiB) for the batch it becomes. */
const SEND_BYTES = 768 * 1024
/** One fetch while restoring: the broker returns up to this much of the partition. */
const FETCH_BYTES = 8 * 1024 * 1024
/** A record batch whose attributes have this bit is a transaction marker, not data. */
const CONTROL_BATCH = 0x20
const EARLIEST = -2n

/**
 * Changelog topics on Kafka through @platformatic/kafka: an idempotent producer that names each
 * record's partition (the input partition it belongs to), and a restore that fetches one partition
 * directly (no consumer group: the records belong to whoever owns the input partition now).
 * Topics are created compacted, with as many partitions as the input, by whichever instance needs
 * one first.
 */
export class KafkaChangelogs {
  private producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined
  private reader: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined
  private admin: Admin | undefined

  constructor(private readonly options: KafkaChangelogOptions) {}

  topic(name: string): ChangelogTopic {
    return {
      name,
      ensure: (partitions) => this.ensure(name, partitions),
      append: (partition, records) => this.append(name, partition, records),
      read: (partition, from, onRecords) => this.read(name, partition, from, onRecords),
    }
  }

  async close(): Promise<void> {
    const clients = [this.producer, this.reader, this.admin]
    this.producer = this.reader = this.admin = undefined
    await Promise.all(clients.map((client) => client?.close().catch(() => undefined)))
  }

  private base() {
    return { clientId: this.options.clientId, bootstrapBrokers: [...this.options.brokers], retries: 5, retryDelay: 200 }
  }

  private async ensure(name: string, partitions: number): Promise<void> {
    this.admin ??= new Admin(this.base())
    const existing = await this.admin.listTopics()
    if (existing.includes(name)) return
    const brokers = (await this.admin.metadata({ topics: [] })).brokers.size
    try {
      await this.admin.createTopics({
        topics: [name],
        partitions,
        replicas: Math.min(3, Math.max(1, brokers)),
        configs: [
          { name: 'cleanup.policy', value: 'compact' },
          // A restore reads the clean (compacted) part and what is not compacted yet: the cleaner
          // only rewrites rolled segments, so they roll small and soon, and no record waits longer
          // than a few minutes for it. The topic stays about the size of the state (every
          // checkpoint rewrites the open windows), not of everything ever checkpointed.
          { name: 'segment.bytes', value: String(32 * 1024 * 1024) },
          { name: 'segment.ms', value: String(60_000) },
          { name: 'min.cleanable.dirty.ratio', value: '0.3' },
          { name: 'max.compaction.lag.ms', value: String(5 * 60_000) },
          // Set, not left to the broker: a local store younger than half of it reads on from its
          // position (LOCAL_STATE_MAX_AGE_MS) and must still find every tombstone written since.
          { name: 'delete.retention.ms', value: String(24 * 3_600_000) },
        ],
      })
      this.options.logger.info({ topic: name, partitions }, 'created changelog topic')
    } catch (error) {
      // Another instance created it first.
      if (!(await this.admin.listTopics()).includes(name)) throw error
    }
  }

  private async append(name: string, partition: number, records: readonly ChangelogRecord[]): Promise<number> {
    let messages: { topic: string; partition: number; key: Buffer; value: Buffer }[] = []
    let bytes = 0
    let next: number | undefined
    const flush = async () => {
      if (messages.length === 0) return
      const send = messages
      messages = []
      bytes = 0
      try {
        this.producer ??= new Producer<Buffer, Buffer, Buffer, Buffer>({ ...this.base(), idempotent: true, autocreateTopics: false })
        // The broker answers the base offset of what it appended: the records follow it in order.
        const base = (await this.producer.send({ messages: send })).offsets?.find((entry) => entry.partition === partition)?.offset
        if (base === undefined) throw new Error('the broker acknowledged the records without their offset')
        next = Number(base) + send.length
      } catch (error) {
        // Sequence numbers advance only on success: a producer whose request may have landed is
        // not reused (the same reason as core/bus/kafka-platformatic/client.ts).
        const failed = this.producer
        this.producer = undefined
        failed?.close().catch(() => undefined)
        throw new Error(`could not append to changelog ${name}[${partition}]: ${(error as Error).message}`, { cause: error })
      }
    }
    for (const record of records) {
      const key = Buffer.from(record.key, 'utf8')
      // A null value is written as Kafka's tombstone (length -1), which the library's schema wants present.
      const value = (record.value === null ? null : Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength)) as Buffer
      const size = key.byteLength + (value?.byteLength ?? 0) + 32
      if (bytes + size > SEND_BYTES) await flush()
      messages.push({ topic: name, partition, key, value })
      bytes += size
    }
    await flush()
    return next ?? (await this.end(name, partition))
  }

  private async end(name: string, partition: number): Promise<number> {
    this.reader ??= this.newReader()
    const latest = await this.reader.listOffsets({ topics: [name], partitions: { [name]: [partition] }, isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED })
    return Number(latest.get(name)?.[partition] ?? 0n)
  }

  private newReader(): Consumer<Buffer, Buffer, Buffer, Buffer> {
    return new Consumer<Buffer, Buffer, Buffer, Buffer>({ ...this.base(), groupId: `${this.options.clientId}-changelog-restore`, autocommit: false })
  }

  private async read(name: string, partition: number, from: number | undefined, onRecords: (records: readonly ReadRecord[]) => void): Promise<ChangelogRead> {
    this.reader ??= this.newReader()
    const reader = this.reader
    const topics = [name]
    const partitions = { [name]: [partition] }
    const [latest, earliest] = await Promise.all([
      reader.listOffsets({ topics, partitions, isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED }),
      reader.listOffsets({ topics, partitions, timestamp: EARLIEST, isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED }),
    ])
    const end = latest.get(name)?.[partition] ?? 0n
    const earliestOffset = earliest.get(name)?.[partition] ?? 0n
    let offset = from !== undefined && BigInt(from) > earliestOffset ? BigInt(from) : earliestOffset
    let count = 0
    while (offset < end) {
      const metadata = await reader.metadata({ topics })
      const topic = metadata.topics.get(name)
      const leader = topic?.partitions[partition]
      if (topic === undefined || leader === undefined) throw new Error(`changelog ${name} has no partition ${partition}`)
      const response = await reader.fetch({
        node: leader.leader,
        topics: [{ topicId: topic.id, partitions: [{ partition, currentLeaderEpoch: leader.leaderEpoch, fetchOffset: offset, lastFetchedEpoch: -1, partitionMaxBytes: FETCH_BYTES }] }],
        maxWaitTime: 200,
        minBytes: 1,
        maxBytes: FETCH_BYTES,
        isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
      })
      const fetched = response.responses[0]?.partitions[0]
      if (fetched === undefined) throw new Error(`changelog ${name}[${partition}]: the broker answered no partition`)
      if (fetched.errorCode !== 0) throw new Error(`changelog ${name}[${partition}]: fetch at ${offset} failed with Kafka error ${fetched.errorCode}`)
      const batches = fetched.records ?? []
      // The records between here and the end were all compacted away.
      if (batches.length === 0) break
      const records: ReadRecord[] = []
      for (const batch of batches) {
        if ((batch.attributes & CONTROL_BATCH) === 0) {
          for (const record of batch.records) {
            const at = batch.firstOffset + BigInt(record.offsetDelta)
            if (at < offset || at >= end || record.key === null) continue
            records.push({ key: record.key.toString('utf8'), value: record.value === null ? null : new Uint8Array(record.value), offset: Number(at) })
          }
        }
        const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
        if (next > offset) offset = next
      }
      count += records.length
      if (records.length > 0) onRecords(records)
    }
    return { records: count, end: Number(end) }
  }
}
