import { ByteReader, ByteWriter } from '../../state/bytes.ts'
import type { ChangelogRecord } from './port.ts'

/**
 * The changelog's records and how a restore reads them back.
 *
 * A checkpoint is many records, and Kafka makes no set of records atomic without transactions, so
 * each checkpoint is numbered (`seq`) and ends with a marker record that carries the number, the
 * input offset and the whole parts' chunk count; it is written only after every other record of
 * the checkpoint is acknowledged. A crash between the two leaves records of checkpoint N+1 after
 * marker N. Compaction may already have dropped their older versions, so each record carries the
 * value its key had at the previous checkpoint (`prev`) as well as the new one: a restore takes
 * `value` from records of a committed checkpoint and `prev` from those after the last marker, and
 * then rewrites the latter at the committed level so a later checkpoint N+1 cannot adopt them.
 *
 * A key deleted by a committed checkpoint is a record with no value (it still needs its `prev`
 * until its marker lands); once the marker is acknowledged a tombstone follows, so compaction
 * forgets the key.
 */

/** The marker's key, and the prefix of the whole parts' chunks: no operator's key starts with NUL. */
export const MARKER_KEY = '\u0000checkpoint'
export const WHOLE_CHUNK_PREFIX = '\u0000whole/'
/** Chunks stay well below a Kafka record's default limit (1 MB) with their previous version beside them. */
export const WHOLE_CHUNK_BYTES = 256 * 1024

const ENTRY_VERSION = 1
const MARKER_VERSION = 1
const HAS_VALUE = 1
const HAS_PREV = 2

export interface ChangelogMarker {
  readonly seq: number
  readonly nextOffset: number
  readonly savedAt: number
  readonly wholeChunks: number
}

export interface ChangelogEntry {
  readonly seq: number
  readonly value: Uint8Array | undefined
  readonly prev: Uint8Array | undefined
}

export const wholeChunkKey = (index: number): string => `${WHOLE_CHUNK_PREFIX}${index}`

export function encodeEntry(entry: ChangelogEntry): Uint8Array {
  const writer = new ByteWriter(32 + (entry.value?.byteLength ?? 0) + (entry.prev?.byteLength ?? 0))
  writer.u8(ENTRY_VERSION)
  writer.u8((entry.value !== undefined ? HAS_VALUE : 0) | (entry.prev !== undefined ? HAS_PREV : 0))
  writer.f64(entry.seq)
  if (entry.value !== undefined) writer.bytes(entry.value)
  if (entry.prev !== undefined) writer.bytes(entry.prev)
  return writer.finish()
}

export function decodeEntry(key: string, bytes: Uint8Array): ChangelogEntry {
  return decoding(key, () => {
    const reader = new ByteReader(bytes)
    const version = reader.u8()
    if (version !== ENTRY_VERSION) throw new Error(`unknown entry version ${version}`)
    const flags = reader.u8()
    const seq = reader.f64()
    const value = flags & HAS_VALUE ? reader.bytes() : undefined
    const prev = flags & HAS_PREV ? reader.bytes() : undefined
    return { seq, value, prev }
  })
}

export function encodeMarker(marker: ChangelogMarker): Uint8Array {
  const writer = new ByteWriter(40)
  writer.u8(MARKER_VERSION)
  writer.f64(marker.seq)
  writer.f64(marker.nextOffset)
  writer.f64(marker.savedAt)
  writer.u32(marker.wholeChunks)
  return writer.finish()
}

export function decodeMarker(bytes: Uint8Array): ChangelogMarker {
  return decoding(MARKER_KEY, () => {
    const reader = new ByteReader(bytes)
    const version = reader.u8()
    if (version !== MARKER_VERSION) throw new Error(`unknown marker version ${version}`)
    return { seq: reader.f64(), nextOffset: reader.f64(), savedAt: reader.f64(), wholeChunks: reader.u32() }
  })
}

/** The whole parts cut into chunks (at least one, so an empty snapshot still has its chunk). */
export function wholeChunks(whole: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = []
  for (let start = 0; start < whole.byteLength || chunks.length === 0; start += WHOLE_CHUNK_BYTES) {
    chunks.push(whole.subarray(start, Math.min(whole.byteLength, start + WHOLE_CHUNK_BYTES)))
  }
  return chunks
}

function joinChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0))
  let at = 0
  for (const chunk of chunks) {
    whole.set(chunk, at)
    at += chunk.byteLength
  }
  return whole
}

/** A partition's state as its changelog holds it: the last committed checkpoint. */
export interface RestoredChangelog {
  readonly marker: ChangelogMarker | undefined
  readonly whole: Uint8Array
  /** The whole parts as the committed chunks (the previous versions of the next checkpoint's chunks). */
  readonly wholeChunks: Uint8Array[]
  /** The committed value of every key (whole chunks and the marker left out). */
  readonly entries: Map<string, Uint8Array>
  /**
   * What the restorer writes before its first checkpoint: the committed values of records left
   * after the last marker, and tombstones for keys a committed checkpoint deleted.
   */
  readonly repairs: ChangelogRecord[]
}

/**
 * Reads a partition's changelog in offset order (`add`), keeping only the newest record of each
 * key as compaction would, then settles what was committed (`result`).
 */
export class ChangelogReader {
  private readonly newest = new Map<string, Uint8Array | null>()

  add(records: readonly ChangelogRecord[]): void {
    for (const record of records) this.newest.set(record.key, record.value)
  }

  result(): RestoredChangelog {
    const markerBytes = this.newest.get(MARKER_KEY)
    const marker = markerBytes ? decodeMarker(markerBytes) : undefined
    const committed = marker?.seq ?? 0
    const entries = new Map<string, Uint8Array>()
    const chunks = new Map<string, Uint8Array>()
    const repairs: ChangelogRecord[] = []
    for (const [key, bytes] of this.newest) {
      if (key === MARKER_KEY || bytes === null) continue
      const entry = decodeEntry(key, bytes)
      const value = entry.seq <= committed ? entry.value : entry.prev
      if (entry.seq > committed) repairs.push({ key, value: encodeEntry({ seq: committed, value, prev: value }) })
      else if (value === undefined) repairs.push({ key, value: null })
      if (value === undefined) continue
      if (key.startsWith(WHOLE_CHUNK_PREFIX)) chunks.set(key, value)
      else entries.set(key, value)
    }
    const whole: Uint8Array[] = []
    for (let index = 0; index < (marker?.wholeChunks ?? 0); index++) {
      const chunk = chunks.get(wholeChunkKey(index))
      if (chunk === undefined) throw new Error(`changelog: checkpoint ${committed} names ${marker!.wholeChunks} chunks of its whole parts and chunk ${index} is missing`)
      whole.push(chunk)
    }
    return { marker, whole: joinChunks(whole), wholeChunks: whole, entries, repairs }
  }
}

function decoding<T>(key: string, decode: () => T): T {
  try {
    return decode()
  } catch (error) {
    throw new Error(`changelog: the record of key ${JSON.stringify(key)} cannot be read (${(error as Error).message}); it was written by an incompatible release or damaged`)
  }
}
