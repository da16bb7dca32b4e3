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
  const sync = randomBytes(16)
  const header = HEADER.toBuffer({ magic: MAGIC, meta: { 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from('null') }, sync })
  let size = 0
  for (const datum of datums) size += datum.length
  const count = LONG.toBuffer(datums.length)
  const length = LONG.toBuffer(size)
  return Buffer.concat([header, count, length, ...datums, sync], header.length + count.length + length.length + size + sync.length)
}
