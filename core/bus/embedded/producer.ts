/**
 * send(): validate, route each record to its partition (Kafka's default partitioner), and hand
 * each partition's share to the group commit. One promise per call, not per record.
 */
import { validateRecord } from '../validate-record.ts'
import { BusError, type ProduceRecord, type Producer, type RecordMetadata } from '../port.ts'
import { closedError } from './errors.ts'
import { SendTicket, type Chunk, type GroupCommit } from './group-commit.ts'
import { partitionForKey } from './murmur2.ts'
import type { Topic, TopicRegistry } from './topics.ts'

export interface ProducerDeps {
  readonly topics: TopicRegistry
  readonly groupCommit: GroupCommit
  /** Resolves when the log is open; rejects if opening failed. */
  readonly ready: () => Promise<void>
  readonly isClosed: () => boolean
}

export interface EmbeddedProducer extends Producer {
  /** Resolves once every send() accepted so far has settled (close waits for it). */
  admitted(): Promise<void>
}

export function createProducer(deps: ProducerDeps): EmbeddedProducer {
  // Sends accepted before close(): it must let them finish rather than cut them off half-way.
  const admitting = new Set<Promise<unknown>>()
  const admit = async (topicName: string, records: readonly ProduceRecord[]): Promise<RecordMetadata[]> => {
    await deps.ready()
    for (const record of records) validateRecord(record)
    return enqueue(deps.groupCommit, await deps.topics.getOrCreate(topicName), records)
  }
  return {
    async send(topicName, records) {
      if (deps.isClosed()) throw closedError()
      if (records.length === 0) return []
      const admission = admit(topicName, records)
      admitting.add(admission)
      try {
        return await admission
      } finally {
        admitting.delete(admission)
      }
    },
    async admitted() {
      await Promise.allSettled([...admitting])
    },
  }
}

function enqueue(groupCommit: GroupCommit, topic: Topic, records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
  const count = topic.partitions.length
  const chunks: (Chunk | undefined)[] = new Array(count)
  const ticket = new SendTicket(records.length)
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    const partition =
      record.key === null
        ? // Round-robin like kafkajs' default partitioner for keyless records.
          topic.roundRobin++ % count
        : partitionForKey(record.key, count)
    let chunk = chunks[partition]
    if (chunk === undefined) {
      chunk = { records: [], positions: [], ticket }
      chunks[partition] = chunk
      ticket.remaining++
    }
    chunk.records.push(record)
    chunk.positions.push(i)
  }
  for (let partition = 0; partition < count; partition++) {
    const chunk = chunks[partition]
    if (chunk !== undefined) groupCommit.push(topic.partitions[partition]!, chunk)
  }
  return ticket.promise
}

