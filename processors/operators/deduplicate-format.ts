import { ByteReader, ByteWriter, SnapshotFormatError } from '../state/bytes.ts'

/**
 * The deduplicator's bytes: its entries in the state store, its snapshot, and the snapshot it
 * wrote before the store existed (which still restores).
 */

export interface Remembered {
  readonly time: number
  readonly arrival: number
}

export interface Listed extends Remembered {
  readonly id: string
}

export interface DeduplicatorCounters {
  readonly newest: number
  readonly duplicates: number
  readonly forgottenEarly: number
  readonly arrivals: number
  readonly remembered: number
}

/** 'EDD3': counters and lingering ids, the other ids being in the state store. */
const MAGIC = 0x45444433

/** An id's entry: time and arrival (f64 each). Written for every new id, so without a ByteWriter's buffer. */
export function encodeRemembered(seen: Remembered): Uint8Array {
  const bytes = Buffer.allocUnsafe(16)
  bytes.writeDoubleLE(seen.time, 0)
  bytes.writeDoubleLE(seen.arrival, 8)
  return bytes
}

export function decodeRemembered(bytes: Uint8Array): Remembered {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { time: view.readDoubleLE(0), arrival: view.readDoubleLE(8) }
}

/** A cell's list: per id, the id (string), time and arrival (f64). */
export function encodeList(entries: readonly Listed[]): Uint8Array {
  const writer = new ByteWriter(entries.length * 64)
  for (const { id, time, arrival } of entries) {
    writer.string(id)
    writer.f64(time)
    writer.f64(arrival)
  }
  return writer.finish()
}

export function decodeList(value: Uint8Array): Listed[] {
  const reader = new ByteReader(value)
  const entries: Listed[] = []
  while (!reader.done()) entries.push({ id: reader.string(), time: reader.f64(), arrival: reader.f64() })
  return entries
}

/** Layout: magic (u32), the counters (f64 each), then the lingering ids: count (u32), and per id the id (string) and its arrival (f64). */
export function encodeSnapshot(counters: DeduplicatorCounters, lingering: ReadonlyArray<readonly [string, number]>): Uint8Array {
  const writer = new ByteWriter(64 + lingering.length * 48)
  writer.u32(MAGIC)
  for (const value of [counters.newest, counters.duplicates, counters.forgottenEarly, counters.arrivals, counters.remembered]) writer.f64(value)
  writer.u32(lingering.length)
  for (const [id, arrival] of lingering) {
    writer.string(id)
    writer.f64(arrival)
  }
  return writer.finish()
}

export type DecodedSnapshot =
  | { readonly layout: 'store'; readonly counters: DeduplicatorCounters; readonly lingering: Array<[string, number]> }
  | { readonly layout: 'whole'; readonly counters: DeduplicatorCounters; readonly ids: Listed[] }

export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.length < 4 || buffer.readUInt32LE(0) !== MAGIC) return decodeWholeSnapshot(buffer)
  const reader = new ByteReader(bytes)
  reader.u32()
  const counters = { newest: reader.f64(), duplicates: reader.f64(), forgottenEarly: reader.f64(), arrivals: reader.f64(), remembered: reader.f64() }
  const lingering: Array<[string, number]> = []
  for (let count = reader.u32(); count > 0; count--) lingering.push([reader.string(), reader.f64()])
  if (!reader.done()) throw new SnapshotFormatError('trailing bytes')
  return { layout: 'store', counters, lingering }
}

/**
 * Layout before the store (9973fea…07e2247, every id inside): newest, the cutoff its last
 * collection ran at (now a fixed grid, not read), duplicates, forgottenEarly, arrivals (f64 each),
 * count (u32), then per id: length (u16), id (UTF-8), time, arrival (f64).
 */
function decodeWholeSnapshot(bytes: Buffer): DecodedSnapshot {
  const count = bytes.readUInt32LE(40)
  const ids: Listed[] = []
  let offset = 44
  for (let index = 0; index < count; index++) {
    const length = bytes.readUInt16LE(offset)
    const id = bytes.toString('utf8', offset + 2, offset + 2 + length)
    ids.push({ id, time: bytes.readDoubleLE(offset + 2 + length), arrival: bytes.readDoubleLE(offset + 2 + length + 8) })
    offset += 2 + length + 16
  }
  if (offset !== bytes.length) throw new SnapshotFormatError('trailing bytes')
  const counters = { newest: bytes.readDoubleLE(0), duplicates: bytes.readDoubleLE(16), forgottenEarly: bytes.readDoubleLE(24), arrivals: bytes.readDoubleLE(32), remembered: count }
  return { layout: 'whole', counters, ids }
}
