import type { BusRecord, Producer } from '../core/bus/port.ts'

export interface DeadLetter {
  readonly record: BusRecord
  readonly reason: string
}

/**
 * Sends undecodable or invalid records to the DLQ topic unchanged, with where they came from and
 * why in headers, so they can be inspected and replayed after a fix.
 */
export class DeadLetterQueue {
  constructor(private readonly producer: Producer, private readonly topic: string, private readonly job: string) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return
    await this.producer.send(this.topic, letters.map(({ record, reason }) => ({
      key: record.key,
      value: record.value,
      timestamp: record.timestamp,
      headers: {
        ...record.headers,
        'eddy.dlq.reason': reason.slice(0, 1_000),
        'eddy.dlq.job': this.job,
        'eddy.dlq.topic': record.topic,
        'eddy.dlq.partition': String(record.partition),
        'eddy.dlq.offset': String(record.offset),
      },
    })))
  }
}
