/**
 * Little-endian byte writer/reader for snapshots. Hand-rolled instead of JSON so that numbers
 * (including -0, ±Infinity and NaN) round-trip bit-exactly and the format is stable bytes.
 *
 * A snapshot holds every open window and session, so writing it is per-state work a checkpoint
 * repeats: one growing buffer for the whole snapshot, strings written into it in place, and nested
 * parts (an accumulator, a keyed state) written as length-prefixed sections of the same buffer
 * rather than as byte arrays of their own to be copied in.
 */

const decoder = new TextDecoder('utf-8', { fatal: true })
/** The most a reused writer keeps between values (see ByteWriter.reset). */
const RETAINED_BYTES = 64 * 1024

export class ByteWriter {
  private buffer: Buffer
  private length = 0

  constructor(private readonly initialBytes = 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes)
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < this.length + extra) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buffer.copy(next, 0, 0, this.length)
    this.buffer = next
  }

  u8(value: number): void {
    this.reserve(1)
    this.buffer[this.length++] = value & 0xff
  }

  u32(value: number): void {
    this.reserve(4)
    this.length = this.buffer.writeUInt32LE(value >>> 0, this.length)
  }

  f64(value: number): void {
    this.reserve(8)
    this.length = this.buffer.writeDoubleLE(value, this.length)
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0)
  }

  bytes(value: Uint8Array): void {
    this.u32(value.length)
    this.reserve(value.length)
    this.buffer.set(value, this.length)
    this.length += value.length
  }

  /** A length-prefixed UTF-8 string. */
  string(value: string): void {
    this.section(() => this.text(value))
  }

  /** UTF-8 without a length: the rest of a section (see ByteReader.text). */
  text(value: string): void {
    // At most three bytes per UTF-16 code unit.
    this.reserve(value.length * 3)
    this.length += this.buffer.write(value, this.length, 'utf8')
  }

  /**
   * What `write` writes, prefixed with its length: the same bytes as `bytes()` of a separately
   * written array, without the array.
   */
  section(write: () => void): void {
    this.reserve(4)
    const at = this.length
    this.length += 4
    write()
    this.buffer.writeUInt32LE(this.length - at - 4, at)
  }

  /** Bytes as they are, without a length (a stretch copied from another snapshot). */
  raw(value: Uint8Array): void {
    this.reserve(value.length)
    this.buffer.set(value, this.length)
    this.length += value.length
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return new Uint8Array(this.buffer.subarray(0, this.length))
  }

  /**
   * Starts over in the same buffer: one writer encodes many small values, each taken by `finish`.
   * A buffer grown past RETAINED_BYTES for one large value is let go, or a writer an operator keeps
   * would hold its largest value's size for ever (10 MB over the aligned windows' writers in the
   * soak, grown by a fired minute's whole record).
   */
  reset(): void {
    this.length = 0
    if (this.buffer.length > RETAINED_BYTES) this.buffer = Buffer.allocUnsafe(this.initialBytes)
  }
}

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError'
}

export class ByteReader {
  private readonly view: DataView
  private position = 0

  constructor(private readonly buffer: Uint8Array) {
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  }

  private need(size: number): void {
    if (this.position + size > this.buffer.length) throw new SnapshotFormatError('snapshot is truncated')
  }

  u8(): number {
    this.need(1)
    return this.buffer[this.position++] as number
  }

  u32(): number {
    this.need(4)
    const value = this.view.getUint32(this.position, true)
    this.position += 4
    return value
  }

  /** The next byte, left to be read. */
  peekU8(): number {
    this.need(1)
    return this.buffer[this.position] as number
  }

  /** The next u32, left to be read. */
  peekU32(): number {
    this.need(4)
    return this.view.getUint32(this.position, true)
  }

  f64(): number {
    this.need(8)
    const value = this.view.getFloat64(this.position, true)
    this.position += 8
    return value
  }

  bool(): boolean {
    return this.u8() === 1
  }

  bytes(): Uint8Array {
    const size = this.u32()
    this.need(size)
    // A copy: the caller may keep or change it (a sketch's registers), and a view would pin the
    // whole checkpoint buffer it came from.
    const value = new Uint8Array(this.buffer.subarray(this.position, this.position + size))
    this.position += size
    return value
  }

  string(): string {
    return this.section((reader) => reader.text())
  }

  /** The rest of this reader as UTF-8 (the counterpart of ByteWriter.text in a section). */
  text(): string {
    const value = decoder.decode(this.buffer.subarray(this.position))
    this.position = this.buffer.length
    return value
  }

  /** Reads a length-prefixed section with a reader confined to it; it must be read to its end. */
  section<T>(read: (reader: ByteReader) => T): T {
    const size = this.u32()
    this.need(size)
    const reader = new ByteReader(this.buffer.subarray(this.position, this.position + size))
    const value = read(reader)
    if (!reader.done()) throw new SnapshotFormatError('a snapshot section holds more than its reader read')
    this.position += size
    return value
  }

  done(): boolean {
    return this.position === this.buffer.length
  }

  /** How far reading has got: with `slice`, copies a stretch read by someone else's reader code. */
  get offset(): number {
    return this.position
  }

  slice(from: number, to: number): Uint8Array {
    return this.buffer.subarray(from, to)
  }
}

/** Plain code-unit comparison: deterministic and independent of locale, unlike localeCompare. */
export function compareStrings(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0
}
