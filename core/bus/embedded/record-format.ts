/**
 * On-disk record frame of the embedded log. Every record stands alone, so a torn write can be cut
 * off at a record boundary and a reader can start at any indexed position.
 *
 *   frame  = length:u32 | crc:u32 | body           (big-endian; length = body bytes)
 *   body   = magic:u8 | offset:u64 | timestamp:u64 | keyLength:i32 (-1 = null) | key
 *            | valueLength:u32 | value | headerCount:u32 | (nameLength:u32 name valueLength:u32 value)*
 *
 * The CRC32 covers the whole body, offset included, so a stale frame copied to the wrong place
 * or a half-overwritten one never passes as valid.
 */
import { crc32 } from 'node:zlib'
import type { BusRecord, Headers, ProduceRecord } from '../port.ts'

export const FRAME_PREFIX_BYTES = 8
const MAGIC = 1
const FIXED_BODY_BYTES = 1 + 8 + 8 + 4 + 4 + 4
const TWO_32 = 2 ** 32
const NO_HEADERS: Headers = Object.freeze({})

/** Bytes one record takes on disk; `keyBytes` is precomputed by the caller to measure UTF-8 once. */
export function frameSize(record: ProduceRecord, keyBytes: number): number {
  let size = FRAME_PREFIX_BYTES + FIXED_BODY_BYTES + keyBytes + record.value.length
  if (record.headers !== undefined) {
    for (const name in record.headers) {
      size += 8 + Buffer.byteLength(name) + Buffer.byteLength(record.headers[name]!)
    }
  }
  return size
}

export function keyByteLength(key: string | null): number {
  return key === null ? 0 : Buffer.byteLength(key)
}

/** Writes one frame at `position` and returns the position after it. */
export function writeFrame(
  buffer: Buffer,
  position: number,
  offset: number,
  timestamp: number,
  record: ProduceRecord,
  keyBytes: number,
): number {
  const bodyStart = position + FRAME_PREFIX_BYTES
  let at = bodyStart
  buffer[at++] = MAGIC
  at = writeU64(buffer, at, offset)
  at = writeU64(buffer, at, timestamp)
  if (record.key === null) {
    at = buffer.writeInt32BE(-1, at)
  } else {
    at = buffer.writeInt32BE(keyBytes, at)
    at += buffer.write(record.key, at, keyBytes, 'utf8')
  }
  at = buffer.writeUInt32BE(record.value.length, at)
  at += record.value.copy(buffer, at)
  const headers = record.headers
  const countAt = at
  at += 4
  let count = 0
  if (headers !== undefined) {
    for (const name in headers) {
      at = writeString(buffer, at, name)
      at = writeString(buffer, at, headers[name]!)
      count++
    }
  }
  buffer.writeUInt32BE(count, countAt)
  buffer.writeUInt32BE(at - bodyStart, position)
  buffer.writeUInt32BE(crc32(buffer.subarray(bodyStart, at)), position + 4)
  return at
}

export type FrameCheck =
  | { readonly status: 'ok'; readonly offset: number; readonly timestamp: number; readonly end: number }
  | { readonly status: 'incomplete'; readonly needed: number }
  | { readonly status: 'corrupt'; readonly reason: string }

/**
 * Validates the frame at `position` without decoding key, value or headers — the recovery scan and
 * the index builder only need offsets, timestamps and boundaries.
 */
export function checkFrame(buffer: Buffer, position: number, maxFrameBytes: number): FrameCheck {
  if (buffer.length - position < FRAME_PREFIX_BYTES) {
    return { status: 'incomplete', needed: FRAME_PREFIX_BYTES }
  }
  const length = buffer.readUInt32BE(position)
  if (length < FIXED_BODY_BYTES || length + FRAME_PREFIX_BYTES > maxFrameBytes) {
    return { status: 'corrupt', reason: `implausible frame length ${length}` }
  }
  const end = position + FRAME_PREFIX_BYTES + length
  if (end > buffer.length) return { status: 'incomplete', needed: FRAME_PREFIX_BYTES + length }
  const body = buffer.subarray(position + FRAME_PREFIX_BYTES, end)
  if (crc32(body) !== buffer.readUInt32BE(position + 4)) {
    return { status: 'corrupt', reason: 'CRC mismatch' }
  }
  if (body[0] !== MAGIC) return { status: 'corrupt', reason: `unknown magic ${body[0]}` }
  return { status: 'ok', offset: readU64(body, 1), timestamp: readU64(body, 9), end }
}

/**
 * Decodes the frame at `position` whose bounds were already checked. The value is a view into
 * `buffer` (no copy): the read path allocates a fresh buffer per fetch, so nothing aliases it.
 */
export function decodeFrame(buffer: Buffer, position: number, topic: string, partition: number): BusRecord {
  let at = position + FRAME_PREFIX_BYTES + 1
  const offset = readU64(buffer, at)
  const timestamp = readU64(buffer, at + 8)
  at += 16
  const keyLength = buffer.readInt32BE(at)
  at += 4
  let key: string | null = null
  if (keyLength >= 0) {
    key = buffer.toString('utf8', at, at + keyLength)
    at += keyLength
  }
  const valueLength = buffer.readUInt32BE(at)
  at += 4
  const value = buffer.subarray(at, at + valueLength)
  at += valueLength
  const count = buffer.readUInt32BE(at)
  at += 4
  let headers = NO_HEADERS
  if (count > 0) {
    const decoded: Record<string, string> = {}
    for (let i = 0; i < count; i++) {
      const nameLength = buffer.readUInt32BE(at)
      const name = buffer.toString('utf8', at + 4, at + 4 + nameLength)
      at += 4 + nameLength
      const valueBytes = buffer.readUInt32BE(at)
      decoded[name] = buffer.toString('utf8', at + 4, at + 4 + valueBytes)
      at += 4 + valueBytes
    }
    headers = decoded
  }
  return { topic, partition, offset, key, value, headers, timestamp }
}

function writeU64(buffer: Buffer, at: number, value: number): number {
  // Two u32 halves: BigInt on the hot path costs far more, and offsets/timestamps stay below 2^53.
  buffer.writeUInt32BE(Math.floor(value / TWO_32), at)
  return buffer.writeUInt32BE(value >>> 0, at + 4)
}

function readU64(buffer: Buffer, at: number): number {
  return buffer.readUInt32BE(at) * TWO_32 + buffer.readUInt32BE(at + 4)
}

function writeString(buffer: Buffer, at: number, text: string): number {
  const written = buffer.write(text, at + 4, 'utf8')
  buffer.writeUInt32BE(written, at)
  return at + 4 + written
}
