import type { Batch, Bus, Consumer, TopicPartition } from '../core/bus/port.ts'
import type { AvroCodec } from '../core/codec/avro-codec.ts'
import type { Config } from '../core/config/index.ts'
import type { Logger } from '../core/logging/logger.ts'
import { STREAMS, type Stream } from '../schemas/avro/catalog.ts'
import { DeadLetterQueue } from './dead-letters.ts'
import type { ClickHouseBatchWriter } from './sinks/clickhouse-batch-writer.ts'
import { RAW_ROW, RAW_TABLE } from './sinks/raw-rows.ts'
import { decodeRecords } from './steps/decode.ts'

export interface RawEventsOptions {
  readonly bus: Bus
  readonly codec: AvroCodec
  readonly writer: ClickHouseBatchWriter
  readonly topics: Config['topics']
  readonly database: string
  readonly logger: Logger
  readonly groupId?: string
  readonly onBatch?: (stream: Stream, stored: number, deadLettered: number) => void
}

/**
 * Stores every event as a raw row: consume → decode → (DLQ) → insert → commit. The offset of a
 * batch is committed only after ClickHouse acknowledged its rows and the DLQ its dead letters, so
 * a crash replays at most uncommitted batches, which the ReplacingMergeTree deduplicates.
 */
export async function startRawEvents(options: RawEventsOptions): Promise<Consumer> {
  const { bus, codec, writer, topics, database, logger } = options
  const streamOf = new Map<string, Stream>(STREAMS.map((stream) => [topics[stream], stream]))
  const deadLetters = new DeadLetterQueue(bus.producer(), topics.dlq, 'raw-events')
  // Inserts run in the background while the next batches are decoded; each partition's commits
  // are chained so none lands before the ones before it, or past a failed insert.
  const inFlight = new Map<string, Promise<void>[]>()
  const drain = async (partitions: readonly TopicPartition[]) => {
    for (const { topic, partition } of partitions) {
      const list = inFlight.get(`${topic}:${partition}`) ?? []
      await Promise.allSettled(list)
      inFlight.delete(`${topic}:${partition}`)
    }
  }
  const consumer = bus.consumer({
    groupId: options.groupId ?? 'eddy-raw-events',
    topics: STREAMS.map((s) => topics[s]),
    maxBatchRecords: 10_000,
    rebalance: { onRevoked: drain },
  })

  const handle = async (batch: Batch) => {
    const stream = streamOf.get(batch.topic)!
    const results = await decodeRecords(codec, stream, batch.records)
    const rows: Record<string, unknown>[] = []
    const dead = []
    const toRow = RAW_ROW[stream] as (event: unknown) => Record<string, unknown>
    for (const result of results) {
      if (result.kind === 'ok') rows.push(toRow(result.event))
      else dead.push(result)
    }
    if (dead.length > 0) logger.warn({ topic: batch.topic, partition: batch.partition, count: dead.length, reason: dead[0]!.reason }, 'records sent to the DLQ')
    const written = Promise.all([writer.write(`${database}.${RAW_TABLE[stream]}`, rows), deadLetters.send(dead)])
    const key = `${batch.topic}:${batch.partition}`
    const list = inFlight.get(key) ?? inFlight.set(key, []).get(key)!
    const previous = list.at(-1)
    const next = batch.records.at(-1)!.offset + 1
    const committed = (async () => {
      await written
      if (previous) await previous
      await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: next }])
      options.onBatch?.(stream, rows.length, dead.length)
    })()
    committed.catch((error: unknown) => logger.warn({ err: error, topic: batch.topic, partition: batch.partition }, 'raw rows not committed; they will be read again'))
    list.push(committed)
    while (list.length > 8) await list.shift()
  }

  void consumer.run(handle).catch((error: unknown) => logger.error({ err: error }, 'raw events consumer stopped'))
  return consumer
}
