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

/**
 * Rows (objects with a field per column) encoded with `type` into one container, all into one
 * growing buffer rather than a buffer per row. Throws on a row that does not fit the type (a
 * missing column, a string where a number belongs): a bug in whoever built it, reported whole.
 */
export function avroRowsContainer(type: avro.Type, rows: readonly unknown[]): Buffer {
  let block = Buffer.allocUnsafe(Math.max(1_024, rows.length * 64))
  let position = 0
  for (const row of rows) {
    let next = type.encode(row, block, position)
    if (next < 0) {
      // Too small by -next bytes: grow (at least doubling) and write the row again.
      const grown = Buffer.allocUnsafe(Math.max(block.length * 2, position - next))
      block.copy(grown, 0, 0, position)
      block = grown
      next = type.encode(row, block, position)
    }
    position = next
  }
  return container(type.schema({ exportAttrs: true }), rows.length, [block.subarray(0, position)])
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
