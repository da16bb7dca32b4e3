import { Admin, Consumer, FetchIsolationLevels, Producer } from '@platformatic/kafka'
import type { Logger } from 'pino'
import { ChangelogClaimedError, type ChangelogRead, type ChangelogRecord, type ChangelogTopic, type ReadRecord } from './port.ts'

export interface KafkaChangelogOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  readonly logger: Logger
}

/** A send stays under the broker's default message.max.bytes (1 MiB) for the batch it becomes. */
const SEND_BYTES = 768 * 1024
/** The topic's limit on a record batch; a bigger entry fails its checkpoint, named. */
const MAX_RECORD_BYTES = 32 * 1024 * 1024
/** One fetch while restoring: the broker returns up to this much of the partition (at least one batch, however big). */
const FETCH_BYTES = 8 * 1024 * 1024
/** Record batch attributes: written in a transaction, and a transaction marker rather than data. */
const TRANSACTIONAL_BATCH = 0x10
const CONTROL_BATCH = 0x20
/** A control record's type (its key's second int16): the transaction was aborted. */
const ABORT_MARKER = 0
const EARLIEST = -2n

type KafkaProducer = Producer<Buffer, Buffer, Buffer, Buffer>
type Transaction = Awaited<ReturnType<KafkaProducer['beginTransaction']>>

/**
 * The one writer of a changelog partition: a transactional producer whose id is the partition's
 * (`<topic>-<partition>`, the same on every instance), so the instance that claims it last fences
 * every earlier one: Kafka aborts what an earlier writer had not committed and refuses its next
 * send or commit. Without it, an instance that lost a partition could still be writing its last
 * checkpoint while the new owner restores (kafkajs reports a revocation only after the move).
 */
interface PartitionWriter {
  readonly producer: KafkaProducer
  /** Begun by the claim, so the fence is in place before the restore reads; the next append uses it. */
  open: Transaction | undefined
}

/**
 * Changelog topics on Kafka through @platformatic/kafka: each append one transaction of the
 * partition's writer (above), and a restore that fetches one partition directly (no consumer
 * group: the records belong to whoever owns the input partition now), committed transactions
 * only. Topics are created compacted, with as many partitions as the input, by whichever instance
 * needs one first.
 */
export class KafkaChangelogs {
  private readonly writers = new Map<string, Promise<PartitionWriter>>()
  private reader: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined
  private admin: Admin | undefined

  constructor(private readonly options: KafkaChangelogOptions) {}

  topic(name: string): ChangelogTopic {
    return {
      name,
      // Each append is one transaction and restores read committed records only.
      atomicAppends: true,
      ensure: (partitions) => this.ensure(name, partitions),
      claim: (partition) => this.claim(name, partition),
      append: (partition, records) => this.append(name, partition, records),
      read: (partition, from, onRecords) => this.read(name, partition, from, onRecords),
    }
  }

  async close(): Promise<void> {
    const writers = [...this.writers.values()]
    this.writers.clear()
    const clients = [this.reader, this.admin]
    this.reader = this.admin = undefined
    await Promise.all([
      ...writers.map(async (writer) => (await writer.catch(() => undefined))?.producer.close().catch(() => undefined)),
      ...clients.map((client) => client?.close().catch(() => undefined)),
    ])
  }

  /** A new writer for the partition, fencing every earlier one (this instance's own included). */
  private claim(name: string, partition: number): Promise<void> {
    const key = `${name}-${partition}`
    const previous = this.writers.get(key)
    const claiming = (async (): Promise<PartitionWriter> => {
      await (await previous?.catch(() => undefined))?.producer.close().catch(() => undefined)
      // producerId/epoch -1: a new producer for the id, as the protocol asks (0 reads as a stale epoch).
      const producer: KafkaProducer = new Producer({ ...this.base(), idempotent: true, transactionalId: key, producerId: -1n, producerEpoch: -1, autocreateTopics: false })
      try {
        return { producer, open: await producer.beginTransaction() }
      } catch (error) {
        await producer.close().catch(() => undefined)
        throw error
      }
    })()
    this.writers.set(key, claiming)
    claiming.catch(() => {
      if (this.writers.get(key) === claiming) this.writers.delete(key)
    })
    return claiming.then(() => undefined)
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
          // One entry can be a fired window's whole bucket (every key of a busy minute) next to
          // its previous value: megabytes, past the broker's default of 1 MB a record batch.
          { name: 'max.message.bytes', value: String(MAX_RECORD_BYTES) },
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
    const key = `${name}-${partition}`
    if (!this.writers.has(key)) await this.claim(name, partition)
    const claimed = this.writers.get(key)!
    const writer = await claimed
    const transaction = writer.open ?? (await writer.producer.beginTransaction())
    writer.open = undefined
    let next: number | undefined
    try {
      let messages: { topic: string; partition: number; key: Buffer; value: Buffer }[] = []
      let bytes = 0
      const send = async () => {
        if (messages.length === 0) return
        const sending = messages
        messages = []
        bytes = 0
        // The broker answers the base offset of what it appended: the records follow it in order.
        const base = (await transaction.send({ messages: sending })).offsets?.find((entry) => entry.partition === partition)?.offset
        if (base === undefined) throw new Error('the broker acknowledged the records without their offset')
        next = Number(base) + sending.length
      }
      for (const record of records) {
        const recordKey = Buffer.from(record.key, 'utf8')
        // A null value is written as Kafka's tombstone (length -1), which the library's schema wants present.
        const value = (record.value === null ? null : Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength)) as Buffer
        const size = recordKey.byteLength + (value?.byteLength ?? 0) + 32
        if (size > MAX_RECORD_BYTES) throw new Error(`the entry ${JSON.stringify(record.key)} is ${size} bytes, more than a changelog record may be (${MAX_RECORD_BYTES})`)
        if (bytes + size > SEND_BYTES) await send()
        messages.push({ topic: name, partition, key: recordKey, value })
        bytes += size
      }
      await send()
      await transaction.commit()
    } catch (error) {
      // Fenced (another instance claimed the partition) or failed: this writer is done either
      // way, and what it sent in the transaction is aborted (by Kafka, if not by us).
      await transaction.abort().catch(() => undefined)
      // Forgotten unless a claim since has put a newer writer in its place.
      if (this.writers.get(key) === claimed) this.writers.delete(key)
      await writer.producer.close().catch(() => undefined)
      if (isFenced(error)) throw new ChangelogClaimedError(name, partition, { cause: error })
      throw new Error(`could not append to changelog ${name}[${partition}]: ${(error as Error).message}`, { cause: error })
    }
    // The commit marker takes an offset of its own: the next record comes after it.
    return next === undefined ? await this.end(name, partition) : next + 1
  }

  private async end(name: string, partition: number): Promise<number> {
    this.reader ??= this.newReader()
    const latest = await this.reader.listOffsets({ topics: [name], partitions: { [name]: [partition] }, isolationLevel: FetchIsolationLevels.READ_COMMITTED })
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
    // Up to the last stable offset: nothing after it is known to be committed yet.
    const [latest, earliest] = await Promise.all([
      reader.listOffsets({ topics, partitions, isolationLevel: FetchIsolationLevels.READ_COMMITTED }),
      reader.listOffsets({ topics, partitions, timestamp: EARLIEST, isolationLevel: FetchIsolationLevels.READ_COMMITTED }),
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
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      })
      const fetched = response.responses[0]?.partitions[0]
      if (fetched === undefined) throw new Error(`changelog ${name}[${partition}]: the broker answered no partition`)
      if (fetched.errorCode !== 0) throw new Error(`changelog ${name}[${partition}]: fetch at ${offset} failed with Kafka error ${fetched.errorCode}`)
      const batches = fetched.records ?? []
      // The records between here and the end were all compacted away.
      if (batches.length === 0) break
      const records: ReadRecord[] = []
      // The broker sends aborted transactions' records too, and names them: the reader drops them
      // (from each one's first offset until its abort marker), as Kafka's own consumer does.
      const aborted = [...fetched.abortedTransactions].sort((left, right) => (left.firstOffset < right.firstOffset ? -1 : 1))
      const abortedProducers = new Set<bigint>()
      for (const batch of batches) {
        const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
        while (aborted.length > 0 && aborted[0]!.firstOffset <= last) abortedProducers.add(aborted.shift()!.producerId)
        if ((batch.attributes & CONTROL_BATCH) !== 0) {
          const type = batch.records[0]?.key?.readInt16BE(2)
          if (type === ABORT_MARKER) abortedProducers.delete(batch.producerId)
        } else if ((batch.attributes & TRANSACTIONAL_BATCH) === 0 || !abortedProducers.has(batch.producerId)) {
          for (const record of batch.records) {
            const at = batch.firstOffset + BigInt(record.offsetDelta)
            if (at < offset || at >= end || record.key === null) continue
            records.push({ key: record.key.toString('utf8'), value: record.value === null ? null : new Uint8Array(record.value), offset: Number(at) })
          }
        }
        if (last + 1n > offset) offset = last + 1n
      }
      count += records.length
      if (records.length > 0) onRecords(records)
    }
    return { records: count, end: Number(end) }
  }
}

/** Kafka refused the writer's epoch: a newer writer with its transactional id exists. */
function isFenced(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false
  const found = error as { apiId?: string; producerFenced?: boolean; errors?: unknown[]; cause?: unknown }
  if (found.producerFenced === true || found.apiId === 'PRODUCER_FENCED' || found.apiId === 'INVALID_PRODUCER_EPOCH') return true
  return (found.errors ?? []).some((inner) => isFenced(inner, depth + 1)) || isFenced(found.cause, depth + 1)
}
