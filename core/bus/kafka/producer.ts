/**
 * send(): validate, queue in the accumulator, and on flush produce every queued call in one
 * kafkajs sendBatch (acks from all in-sync replicas), then give each caller the offsets of its own
 * records: the partition's base offset plus the record's place in that partition's run.
 */
import { validateRecord } from '../validate-record.ts'
import { CompressionTypes, type Message, type TopicMessages } from 'kafkajs'
import { BusError, type ProduceRecord, type Producer, type RecordMetadata } from '../port.ts'
import { Accumulator, type PendingSend } from './accumulator.ts'
import { isUnreachable, toBusError } from './errors.ts'
import type { Health } from './health.ts'
import type { ResolvedOptions } from './options.ts'
import type { ProducerClient } from './producer-client.ts'

export interface KafkaProducer extends Producer {
  /** Sends what is queued and resolves once every send() accepted so far has settled. */
  drain(): Promise<void>
  /** Disconnects; call after drain(). */
  close(): Promise<void>
}

export interface ProducerDeps {
  readonly client: ProducerClient
  readonly health: Health
  readonly options: ResolvedOptions
  readonly isClosed: () => boolean
}

export function createProducer({ client, health, options, isClosed }: ProducerDeps): KafkaProducer {
  const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None

  const flush = async (sends: readonly PendingSend[]): Promise<void> => {
    const byTopic = new Map<string, { messages: Message[]; owners: { send: PendingSend; result: RecordMetadata[] }[] }>()
    const results = sends.map(() => [] as RecordMetadata[])
    sends.forEach((send, i) => {
      let entry = byTopic.get(send.topic)
      if (entry === undefined) byTopic.set(send.topic, (entry = { messages: [], owners: [] }))
      for (const record of send.records) {
        entry.messages.push(toMessage(record))
        entry.owners.push({ send, result: results[i]! })
      }
    })
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, { messages }]) => ({ topic, messages }))
    let responses
    try {
      const producer = await client.get()
      responses = await producer.sendBatch({ topicMessages, acks: -1, timeout: options.ackTimeoutMs, compression })
    } catch (error) {
      client.discard()
      const failure = toBusError(error, 'could not produce to Kafka', 'NOT_DURABLE')
      if (isUnreachable(failure)) health.down(failure)
      throw failure
    }
    health.up()
    const base = new Map(responses.map((response) => [`${response.topicName}/${response.partition}`, Number(response.baseOffset)]))
    for (const [topic, { messages, owners }] of byTopic) {
      const next = new Map<number, number>()
      messages.forEach((message, i) => {
        const partition = client.partitioner.partitionOf(message)
        const first = partition === undefined ? undefined : base.get(`${topic}/${partition}`)
        if (partition === undefined || first === undefined || Number.isNaN(first)) {
          throw new BusError(`Kafka acknowledged ${topic} without an offset for every record`, true, 'NOT_DURABLE')
        }
        const position = next.get(partition) ?? 0
        next.set(partition, position + 1)
        owners[i]!.result.push({ topic, partition, offset: first + position })
      })
    }
    sends.forEach((send, i) => send.resolve(results[i]!))
  }

  return batchingProducer(options, flush, isClosed, () => client.close())
}

function toMessage(record: ProduceRecord): Message {
  return {
    key: record.key,
    value: record.value,
    ...(record.headers === undefined ? {} : { headers: { ...record.headers } }),
    ...(record.timestamp === undefined ? {} : { timestamp: String(record.timestamp) }),
  }
}

/**
 * The Producer both Kafka clients present: a send is checked, then waits in the accumulator
 * until `flush` produces it with every other send queued by then.
 */
export function batchingProducer(options: Pick<ResolvedOptions, 'lingerMs' | 'batchMaxRecords' | 'batchMaxBytes'>, flush: (sends: readonly PendingSend[]) => Promise<void>, isClosed: () => boolean, close: () => Promise<void>): KafkaProducer {
  const accumulator = new Accumulator({ lingerMs: options.lingerMs, maxRecords: options.batchMaxRecords, maxBytes: options.batchMaxBytes, flush })
  return {
    async send(topic, records) {
      if (isClosed()) throw new BusError('the Kafka bus is closed', false, 'CLOSED')
      if (typeof topic !== 'string' || topic === '') throw new BusError('topic must be a non-empty string', false, 'INVALID')
      if (records.length === 0) return []
      for (const record of records) validateRecord(record)
      return accumulator.add(topic, records)
    },
    drain: () => accumulator.drain(),
    close,
  }
}
