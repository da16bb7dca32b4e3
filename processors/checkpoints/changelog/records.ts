import { ByteReader, ByteWriter } from '../../state/bytes.ts'
import type { ChangelogRecord } from './port.ts'

/**
 * The changelog's records and how a restore reads them back.
 *
 * A checkpoint is many records, and Kafka makes no set of records atomic without transactions, so
 * each checkpoint is numbered (`seq`) and ends with a marker record that carries the number, the
 * input offset and which chunks make up the whole parts; it is written only after every other
 * record of the checkpoint is acknowledged. A crash between the two leaves records of checkpoint
 * N+1 after marker N.
 *
 * Entries: compaction may already have dropped their older versions, so each record carries the
 * value its key had at the previous checkpoint (`prev`) as well as the new one: a restore takes
 * `value` from records of a committed checkpoint and `prev` from those after the last marker, and
 * then rewrites the latter at the committed level so a later checkpoint N+1 cannot adopt them. A
 * key deleted by a committed checkpoint is a record with no value (it still needs its `prev` until
 * its marker lands); once the marker is acknowledged a tombstone follows, so compaction forgets it.
 *
 * The whole parts (open windows) change at every checkpoint and are the bulk of it, so they carry
 * no previous version: they are cut into chunks keyed by the checkpoint that wrote them
 * (`<seq>/<index>`), the marker names the chunk of each index (an unchanged chunk is named again,
 * not written again), and chunks no marker names any more are tombstoned.
 */
/** The marker's key, and the prefix of the whole parts' chunks: no operator's key starts with NUL. */
export const MARKER_KEY = '\u0000checkpoint'
export const WHOLE_CHUNK_PREFIX = '\u0000whole/'
/** Chunks stay well below a Kafka record's default limit (1 MB). */
export const WHOLE_CHUNK_BYTES = 256 * 1024

const ENTRY_VERSION = 1
const MARKER_VERSION = 1
const HAS_VALUE = 1
const HAS_PREV = 2

export interface ChangelogMarker {
  readonly seq: number
  readonly nextOffset: number
  readonly savedAt: number
  /** For each chunk of the whole parts, in order, the checkpoint that wrote it. */
  readonly chunks: readonly number[]
}

export interface ChangelogEntry {
  readonly seq: number
  readonly value: Uint8Array | undefined
  readonly prev: Uint8Array | undefined
}

export const wholeChunkKey = (seq: number, index: number): string => `${WHOLE_CHUNK_PREFIX}${seq}/${index}`

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
  writer.u32(marker.chunks.length)
  for (const seq of marker.chunks) writer.f64(seq)
  return writer.finish()
}

export function decodeMarker(bytes: Uint8Array): ChangelogMarker {
  return decoding(MARKER_KEY, () => {
    const reader = new ByteReader(bytes)
    const version = reader.u8()
    if (version !== MARKER_VERSION) throw new Error(`unknown marker version ${version}`)
    const seq = reader.f64()
    const nextOffset = reader.f64()
    const savedAt = reader.f64()
    const chunks = Array.from({ length: reader.u32() }, () => reader.f64())
    return { seq, nextOffset, savedAt, chunks }
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

export interface WholeChunk {
  /** The checkpoint that wrote it: its key is wholeChunkKey(seq, index). */
  readonly seq: number
  readonly bytes: Uint8Array
}

/** A partition's state as its changelog holds it: the last committed checkpoint. */
export interface RestoredChangelog {
  readonly marker: ChangelogMarker | undefined
  readonly whole: Uint8Array
  /** The whole parts' chunks the marker names, with the checkpoint that wrote each. */
  readonly chunks: WholeChunk[]
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
    const stored = new Map<string, Uint8Array>()
    const repairs: ChangelogRecord[] = []
    for (const [key, bytes] of this.newest) {
      if (key === MARKER_KEY || bytes === null) continue
      if (key.startsWith(WHOLE_CHUNK_PREFIX)) {
        stored.set(key, bytes)
        continue
      }
      const entry = decodeEntry(key, bytes)
      const value = entry.seq <= committed ? entry.value : entry.prev
      if (entry.seq > committed) repairs.push({ key, value: encodeEntry({ seq: committed, value, prev: value }) })
      else if (value === undefined) repairs.push({ key, value: null })
      if (value !== undefined) entries.set(key, value)
    }
    const chunks = (marker?.chunks ?? []).map((seq, index) => {
      const key = wholeChunkKey(seq, index)
      const bytes = stored.get(key)
      if (bytes === undefined) throw new Error(`changelog: checkpoint ${committed} names chunk ${key.slice(1)} of its whole parts, which is missing`)
      stored.delete(key)
      return { seq, bytes }
    })
    // Chunks of an unfinished checkpoint, or replaced ones whose tombstones were not written.
    for (const key of stored.keys()) repairs.push({ key, value: null })
    return { marker, whole: joinChunks(chunks.map((chunk) => chunk.bytes)), chunks, entries, repairs }
  }
}

function decoding<T>(key: string, decode: () => T): T {
  try {
    return decode()
  } catch (error) {
    throw new Error(`changelog: the record of key ${JSON.stringify(key)} cannot be read (${(error as Error).message}); it was written by an incompatible release or damaged`)
  }
}
