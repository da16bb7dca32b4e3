/**
 * The Bus producer on @platformatic/kafka: the same accumulator as the kafkajs producer (linger,
 * record and byte limits, one request in flight so per-key order holds), and on flush one send of
 * every queued call with the partition of each record chosen here (see partitions.ts). The broker
 * answers one base offset per partition; a record's offset is that plus its place in the run.
 */
import { BusError, type ProduceRecord, type RecordMetadata } from '../port.ts'
import type { PendingSend } from '../kafka/accumulator.ts'
import { isUnreachable } from '../kafka/errors.ts'
import type { Health } from '../kafka/health.ts'
import type { ResolvedOptions } from '../kafka/options.ts'
import { batchingProducer, type KafkaProducer } from '../kafka/producer.ts'
import { PlatformaticClient, type PlatformaticProducer } from './client.ts'
import { toBusError } from './errors.ts'
import { PartitionChooser } from './partitions.ts'

export interface PlatformaticProducerDeps {
  readonly health: Health
  readonly options: ResolvedOptions
  readonly isClosed: () => boolean
}

interface Outgoing {
  readonly topic: string
  readonly key: Buffer | undefined
  readonly value: Buffer
  partition: number
  readonly timestamp: bigint | undefined
  readonly headers: Map<Buffer, Buffer> | undefined
}

export function createPlatformaticProducer({ health, options, isClosed }: PlatformaticProducerDeps): KafkaProducer {
  const client = new PlatformaticClient(options, options.logger.child({ component: 'kafka-producer' }))
  const chooser = new PartitionChooser()

  const flush = async (sends: readonly PendingSend[]): Promise<void> => {
    const messages: Outgoing[] = []
    const topics = new Set<string>()
    for (const send of sends) {
      topics.add(send.topic)
      for (const record of send.records) messages.push(toMessage(send.topic, record))
    }
    let offsets
    try {
      const producer = client.get()
      await assignPartitions(producer, chooser, [...topics], messages)
      offsets = (await producer.send({ messages })).offsets ?? []
    } catch (error) {
      client.discard()
      const failure = toBusError(error, 'could not produce to Kafka', 'NOT_DURABLE')
      if (isUnreachable(failure)) health.down(failure)
      throw failure
    }
    health.up()
    const base = new Map(offsets.map((entry) => [`${entry.topic}/${entry.partition}`, Number(entry.offset)]))
    const next = new Map<string, number>()
    let index = 0
    for (const send of sends) {
      const result: RecordMetadata[] = []
      for (let i = 0; i < send.records.length; i++) {
        const { topic, partition } = messages[index++]!
        const slot = `${topic}/${partition}`
        const first = base.get(slot)
        if (first === undefined || Number.isNaN(first)) {
          throw new BusError(`Kafka acknowledged ${topic} without an offset for every record`, true, 'NOT_DURABLE')
        }
        const position = next.get(slot) ?? 0
        next.set(slot, position + 1)
        result.push({ topic, partition, offset: first + position })
      }
      send.resolve(result)
    }
  }

  return batchingProducer(options, flush, isClosed, () => client.close())
}

/** Partition counts come from the client's metadata cache (refreshed every 5 s, and on stale-metadata errors). */
async function assignPartitions(producer: PlatformaticProducer, chooser: PartitionChooser, topics: string[], messages: Outgoing[]): Promise<void> {
  const metadata = await producer.metadata({ topics, autocreateTopics: true })
  const counts = new Map(topics.map((topic) => [topic, metadata.topics.get(topic)?.partitionsCount ?? 0]))
  for (const message of messages) {
    const count = counts.get(message.topic)!
    if (count <= 0) throw new BusError(`Kafka has no partitions for ${message.topic}`, true, 'NOT_DURABLE')
    message.partition = chooser.choose(message.topic, message.key, count)
  }
}

function toMessage(topic: string, record: ProduceRecord): Outgoing {
  return {
    topic,
    key: record.key === null ? undefined : Buffer.from(record.key, 'utf8'),
    value: record.value,
    partition: 0,
    timestamp: record.timestamp === undefined ? undefined : BigInt(record.timestamp),
    headers: record.headers === undefined ? undefined : new Map(Object.entries(record.headers).map(([name, value]) => [Buffer.from(name), Buffer.from(value)])),
  }
}
