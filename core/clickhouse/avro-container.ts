import { randomBytes } from 'node:crypto'
import avro from 'avsc'

/**
 * An Avro object container file (the Avro spec's file format) around datums that are already
 * encoded: the schema in the header, then the datums as one uncompressed block. ClickHouse reads it
 * with FORMAT Avro, so events already in Avro on the log reach their raw table as the bytes they
 * arrived in, with no decoding into objects and re-encoding as text on the processor's thread.
 */

const HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
})
const LONG = avro.Type.forSchema('long')
const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]) // "Obj" 1

/** `datums` must each be one value encoded with `schema` (Avro binary, no framing). */
export function avroContainer(schema: avro.Schema, datums: readonly Uint8Array[]): Buffer {
  return container(schema, datums.length, datums)
}

/** Bytes written one after another into one buffer that grows (at least doubling) to hold them. */
class GrowingBlock {
  bytes: Buffer
  position = 0

  constructor(initialBytes: number) {
    this.bytes = Buffer.allocUnsafe(initialBytes)
  }

  /** Makes room for `size` more bytes after the position. */
  reserve(size: number): void {
    if (this.position + size <= this.bytes.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.position + size))
    this.bytes.copy(grown, 0, 0, this.position)
    this.bytes = grown
  }

  written(): Buffer {
    return this.bytes.subarray(0, this.position)
  }
}

/**
 * Datums already encoded with one schema, copied into a container's block as they are added: a
 * batch waiting for its insert holds one buffer instead of a view per datum, each of which pinned
 * the read buffer it came from and cost the young-generation collections a copy until the insert.
 */
export class AvroDatumsBlock {
  private readonly block = new GrowingBlock(64 * 1_024)
  count = 0

  constructor(private readonly schema: avro.Schema) {}

  add(datums: readonly Uint8Array[]): void {
    let size = 0
    for (const datum of datums) size += datum.length
    this.block.reserve(size)
    for (const datum of datums) {
      this.block.bytes.set(datum, this.block.position)
      this.block.position += datum.length
    }
    this.count += datums.length
  }

  container(): Buffer {
    return container(this.schema, this.count, [this.block.written()])
  }
}

/** Rows (objects with a field per column) encoded with `type` into one container. */
export function avroRowsContainer(type: avro.Type, rows: readonly unknown[]): Buffer {
  const block = new AvroRowsBlock(type)
  block.add(rows)
  return block.container()
}

/**
 * A container's block of rows, encoded as they are added, all into one growing buffer: a batch
 * waiting for its insert then holds bytes outside the JavaScript heap instead of row objects that
 * every young-generation collection until the insert would have to copy.
 */
export class AvroRowsBlock {
  private readonly block = new GrowingBlock(16 * 1_024)
  count = 0

  constructor(private readonly type: avro.Type) {}

  /**
   * Throws on a row that does not fit the type (a missing column, a string where a number belongs),
   * a bug in whoever built it; the block is then left as it was, without any of these rows.
   */
  add(rows: readonly unknown[]): void {
    const before = this.block.position
    try {
      for (const row of rows) this.encode(row)
    } catch (error) {
      this.block.position = before
      throw error
    }
    this.count += rows.length
  }

  private encode(row: unknown): void {
    const block = this.block
    let next = this.type.encode(row, block.bytes, block.position)
    if (next < 0) {
      // avsc answers how far past the buffer's end the row went: make that room and write it again.
      block.reserve(block.bytes.length - next - block.position)
      next = this.type.encode(row, block.bytes, block.position)
      if (next < 0) throw new Error(`an Avro row did not fit the ${block.bytes.length}-byte block grown for it`)
    }
    block.position = next
  }

  container(): Buffer {
    return container(this.type.schema({ exportAttrs: true }), this.count, [this.block.written()])
  }
}

function container(schema: avro.Schema, count: number, parts: readonly Uint8Array[]): Buffer {
  const sync = randomBytes(16)
  const header = HEADER.toBuffer({ magic: MAGIC, meta: { 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from('null') }, sync })
  let size = 0
  for (const part of parts) size += part.length
  const countBytes = LONG.toBuffer(count)
  const length = LONG.toBuffer(size)
  return Buffer.concat([header, countBytes, length, ...parts, sync], header.length + countBytes.length + length.length + size + sync.length)
}
