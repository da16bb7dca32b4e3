/**
 * Little-endian byte writer/reader for snapshots. Hand-rolled instead of JSON so that numbers
 * (including -0, ±Infinity and NaN) round-trip bit-exactly and the format is stable bytes.
 */

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export class ByteWriter {
  private buffer = new Uint8Array(1024)
  private view = new DataView(this.buffer.buffer)
  private length = 0

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < this.length + extra) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buffer.subarray(0, this.length))
    this.buffer = next
    this.view = new DataView(next.buffer)
  }

  u8(value: number): void {
    this.reserve(1)
    this.buffer[this.length++] = value & 0xff
  }

  u32(value: number): void {
    this.reserve(4)
    this.view.setUint32(this.length, value >>> 0, true)
    this.length += 4
  }

  f64(value: number): void {
    this.reserve(8)
    this.view.setFloat64(this.length, value, true)
    this.length += 8
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

  string(value: string): void {
    this.bytes(encoder.encode(value))
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length)
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
    const value = this.buffer.slice(this.position, this.position + size)
    this.position += size
    return value
  }

  string(): string {
    return decoder.decode(this.bytes())
  }

  done(): boolean {
    return this.position === this.buffer.length
  }
}

/** Plain code-unit comparison: deterministic and independent of locale, unlike localeCompare. */
export function compareStrings(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0
}
