/**
 * Encodes everything one flush cycle collected for a partition into a single buffer, so the
 * flush costs one write and one fdatasync however many send() calls it carries.
 */
import type { ProduceRecord } from '../port.ts'
import { frameSize, keyByteLength, writeFrame } from './record-format.ts'
import type { PendingIndex } from './segment.ts'

export interface EncodedBatch {
  readonly buffer: Buffer
  readonly count: number
  readonly maxTimestamp: number
  readonly index: PendingIndex
}

export function encodeBatch(
  batches: readonly (readonly ProduceRecord[])[],
  firstOffset: number,
  now: number,
  startPosition: number,
  lastIndexedPosition: number,
  indexIntervalBytes: number,
): EncodedBatch {
  let total = 0
  let count = 0
  // Measuring UTF-8 key length once per record: it is needed for both the size and the write.
  const keyLengths: number[] = []
  for (const records of batches) {
    for (const record of records) {
      const keyBytes = keyByteLength(record.key)
      keyLengths.push(keyBytes)
      total += frameSize(record, keyBytes)
      count++
    }
  }
  const buffer = Buffer.allocUnsafe(total)
  const index: PendingIndex = { offsets: [], positions: [] }
  let position = 0
  let offset = firstOffset
  let maxTimestamp = -1
  let lastIndexed = lastIndexedPosition
  for (const records of batches) {
    for (const record of records) {
      const absolute = startPosition + position
      if (absolute - lastIndexed >= indexIntervalBytes) {
        index.offsets.push(offset)
        index.positions.push(absolute)
        lastIndexed = absolute
      }
      const timestamp = record.timestamp ?? now
      if (timestamp > maxTimestamp) maxTimestamp = timestamp
      position = writeFrame(buffer, position, offset, timestamp, record, keyLengths[offset - firstOffset]!)
      offset++
    }
  }
  return { buffer, count, maxTimestamp, index }
}
