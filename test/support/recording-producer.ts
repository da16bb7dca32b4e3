import type { Producer, ProduceRecord, RecordMetadata } from '../../core/bus/port.ts'
import { BusError } from '../../core/bus/port.ts'

/** A Producer for route tests: keeps what it was given, and can be told to fail or to hang. */
export class RecordingProducer implements Producer {
  readonly sent: Array<{ topic: string; record: ProduceRecord }> = []
  mode: 'ok' | 'fail' | 'disk-full' | 'hang' = 'ok'
  private offset = 0

  async send(topic: string, records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    if (this.mode === 'fail') throw new BusError('not durable', true, 'NOT_DURABLE')
    if (this.mode === 'disk-full') throw new BusError('disk full', true, 'DISK_FULL')
    if (this.mode === 'hang') return new Promise(() => {})
    return records.map((record) => {
      this.sent.push({ topic, record })
      return { topic, partition: 0, offset: this.offset++ }
    })
  }
}
