import { BusError, type ProduceRecord } from './port.ts'

/** What every adapter refuses before accepting a record: the port's contract, checked once. */
export function validateRecord(record: ProduceRecord): void {
  if (!Buffer.isBuffer(record.value)) throw new BusError('record value must be a Buffer', false, 'INVALID')
  if (record.key !== null && typeof record.key !== 'string') {
    throw new BusError('record key must be a string or null', false, 'INVALID')
  }
  const { timestamp } = record
  if (timestamp !== undefined && (!Number.isSafeInteger(timestamp) || timestamp < 0)) {
    throw new BusError(`record timestamp must be a non-negative integer (ms), got ${timestamp}`, false, 'INVALID')
  }
}
