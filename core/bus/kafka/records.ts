/** kafkajs' fetched messages as the port's records: numbers for offsets and times, strings for keys and headers. */
import type { IHeaders, KafkaMessage } from 'kafkajs'
import type { BusRecord, Headers } from '../port.ts'

export function toBusRecord(topic: string, partition: number, message: KafkaMessage): BusRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key === null ? null : message.key.toString('utf8'),
    // A null value (a tombstone) cannot come from this port's producer; read it as empty.
    value: message.value ?? Buffer.alloc(0),
    headers: toHeaders(message.headers),
    timestamp: Number(message.timestamp),
  }
}

/** Kafka allows a header name more than once; the port has one value per name, so the last wins. */
function toHeaders(headers: IHeaders | undefined): Headers {
  const result: Record<string, string> = {}
  if (headers === undefined) return result
  for (const [name, value] of Object.entries(headers)) {
    const last = Array.isArray(value) ? value.at(-1) : value
    if (last !== undefined) result[name] = last.toString()
  }
  return result
}
