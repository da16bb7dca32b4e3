import { ByteReader, ByteWriter } from '../../state/bytes.ts'
import type { ChangelogRecord, ReadRecord } from './port.ts'

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
const POSITION_VERSION = 1
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
    readVersion(reader, 'entry', ENTRY_VERSION)
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
  writeChunkSeqs(writer, marker.chunks)
  return writer.finish()
}

/** Which checkpoint wrote each chunk of the whole parts, in order (markers and positions both name them). */
function writeChunkSeqs(writer: ByteWriter, chunks: readonly number[]): void {
  writer.u32(chunks.length)
  for (const seq of chunks) writer.f64(seq)
}

function readChunkSeqs(reader: ByteReader): number[] {
  return Array.from({ length: reader.u32() }, () => reader.f64())
}

/** A one-byte version ahead of each encoded marker or position. */
function readVersion(reader: ByteReader, what: string, expected: number): void {
  const version = reader.u8()
  if (version !== expected) throw new Error(`unknown ${what} version ${version}`)
}

export function decodeMarker(bytes: Uint8Array): ChangelogMarker {
  return decoding(MARKER_KEY, () => {
    const reader = new ByteReader(bytes)
    readVersion(reader, 'marker', MARKER_VERSION)
    const seq = reader.f64()
    const nextOffset = reader.f64()
    const savedAt = reader.f64()
    return { seq, nextOffset, savedAt, chunks: readChunkSeqs(reader) }
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

/**
 * Where a local store stands in its changelog, committed with its state: the checkpoint it holds
 * and an offset at or before that checkpoint's first record. A restore on the same instance reads
 * the changelog from there on (the checkpoint again, and whatever another owner wrote since).
 */
export interface ChangelogPosition {
  readonly seq: number
  readonly offset: number
  /** The checkpoint that wrote each chunk of the whole parts the local store holds. */
  readonly chunks: readonly number[]
}

/** The local store's entry for its position: NUL-led, so no operator's range meets it. */
export const POSITION_KEY = '\u0000changelog'

export function encodePosition(position: ChangelogPosition): Uint8Array {
  const writer = new ByteWriter(32 + position.chunks.length * 8)
  writer.u8(POSITION_VERSION)
  writer.f64(position.seq)
  writer.f64(position.offset)
  writeChunkSeqs(writer, position.chunks)
  return writer.finish()
}

export function decodePosition(bytes: Uint8Array): ChangelogPosition {
  return decoding(POSITION_KEY, () => {
    const reader = new ByteReader(bytes)
    readVersion(reader, 'position', POSITION_VERSION)
    const seq = reader.f64()
    const offset = reader.f64()
    return { seq, offset, chunks: readChunkSeqs(reader) }
  })
}

/** What a restore settled: the last committed checkpoint of the partition. */
export interface RestoredChangelog {
  /** The newest marker read, and its offset; undefined when the read saw none. */
  readonly marker: ChangelogMarker | undefined
  readonly markerOffset: number | undefined
  /** The number of the committed checkpoint. */
  readonly seq: number
  /** The whole parts' chunks it names, with the checkpoint that wrote each. */
  readonly chunks: WholeChunk[]
  readonly whole: Uint8Array
  /** The last writes for the store: keys of an unfinished checkpoint set back to their committed value. */
  readonly writes: Map<string, Uint8Array | null>
  /**
   * What the restorer appends before its first checkpoint: the committed values of records left
   * after the last marker, and tombstones for keys a committed checkpoint deleted and for chunks
   * no marker names.
   */
  readonly repairs: ChangelogRecord[]
}

/**
 * Rebuilds a partition from its changelog as it is read, in offset order, without holding the
 * partition in memory: each record's value goes to the store (`takeWrites`, a piece at a time) as
 * if committed, which every record before the newest marker is; only the records after that
 * marker are kept (with their previous values), and `finish` sets those of an unfinished
 * checkpoint back. Reading from the start rebuilds everything; reading from a local store's
 * position (`base`) brings it up to date.
 */
export class ChangelogRestore {
  private writes = new Map<string, Uint8Array | null>()
  private readonly sinceMarker = new Map<string, ChangelogEntry>()
  private readonly deletedUntombstoned = new Set<string>()
  private readonly chunkRecords = new Map<string, Uint8Array>()
  private marker: ChangelogMarker | undefined
  private markerOffset: number | undefined

  /** `base`: the local store's position and whole parts, when reading on from there. */
  constructor(private readonly base?: { position: ChangelogPosition; whole: Uint8Array }) {}

  add(records: readonly ReadRecord[]): void {
    for (const { key, value, offset } of records) {
      if (key === MARKER_KEY) {
        if (value === null) continue
        this.marker = decodeMarker(value)
        this.markerOffset = offset
        this.sinceMarker.clear()
        continue
      }
      if (key.startsWith(WHOLE_CHUNK_PREFIX)) {
        if (value === null) this.chunkRecords.delete(key)
        else this.chunkRecords.set(key, value)
        continue
      }
      this.deletedUntombstoned.delete(key)
      if (value === null) {
        this.writes.set(key, null)
        this.sinceMarker.delete(key)
        continue
      }
      const entry = decodeEntry(key, value)
      this.writes.set(key, entry.value ?? null)
      this.sinceMarker.set(key, entry)
      if (entry.value === undefined) this.deletedUntombstoned.add(key)
    }
  }

  /** Entries to write to the store now (values as read so far); the map is handed over. */
  takeWrites(): Map<string, Uint8Array | null> {
    const writes = this.writes
    this.writes = new Map()
    return writes
  }

  get pendingWrites(): number {
    return this.writes.size
  }

  finish(): RestoredChangelog {
    const seq = this.marker?.seq ?? this.base?.position.seq ?? 0
    const repairs: ChangelogRecord[] = []
    for (const [key, entry] of this.sinceMarker) {
      if (entry.seq <= seq) continue
      this.writes.set(key, entry.prev ?? null)
      this.deletedUntombstoned.delete(key)
      if (entry.prev === undefined) repairs.push({ key, value: null })
      else repairs.push({ key, value: encodeEntry({ seq, value: entry.prev, prev: entry.prev }) })
    }
    for (const key of this.deletedUntombstoned) repairs.push({ key, value: null })
    const named = this.marker?.chunks ?? this.base?.position.chunks ?? []
    const baseChunks = this.base === undefined ? [] : wholeChunks(this.base.whole)
    const chunks = named.map((chunkSeq, index) => {
      const key = wholeChunkKey(chunkSeq, index)
      const read = this.chunkRecords.get(key)
      this.chunkRecords.delete(key)
      if (read !== undefined) return { seq: chunkSeq, bytes: read }
      // Written before the base's position: the local store holds it in its whole parts.
      if (this.base !== undefined && this.base.position.chunks[index] === chunkSeq && baseChunks[index] !== undefined) return { seq: chunkSeq, bytes: baseChunks[index] }
      throw new Error(`changelog: checkpoint ${seq} names chunk ${key.slice(1)} of its whole parts, which is missing`)
    })
    // Chunks of an unfinished checkpoint, or replaced ones whose tombstones were not written.
    for (const key of this.chunkRecords.keys()) repairs.push({ key, value: null })
    return { marker: this.marker, markerOffset: this.markerOffset, seq, chunks, whole: joinChunks(chunks.map((chunk) => chunk.bytes)), writes: this.takeWrites(), repairs }
  }
}

function decoding<T>(key: string, decode: () => T): T {
  try {
    return decode()
  } catch (error) {
    throw new Error(`changelog: the record of key ${JSON.stringify(key)} cannot be read (${(error as Error).message}); it was written by an incompatible release or damaged`)
  }
}
