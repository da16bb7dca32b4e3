/**
 * Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then the
 * Avro binary body. Every consumer of Kafka data that speaks Schema Registry understands it.
 */
export const MAGIC_BYTE = 0
export const HEADER_LENGTH = 5

export function frame(schemaId: number, body: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(HEADER_LENGTH + body.length)
  framed[0] = MAGIC_BYTE
  framed.writeUInt32BE(schemaId, 1)
  body.copy(framed, HEADER_LENGTH)
  return framed
}

export type Unframed = { ok: true; schemaId: number; body: Buffer } | { ok: false; reason: string }

export function unframe(message: Buffer): Unframed {
  if (message.length < HEADER_LENGTH) return { ok: false, reason: `message of ${message.length} bytes is shorter than the 5-byte wire-format header` }
  if (message[0] !== MAGIC_BYTE) return { ok: false, reason: `unknown magic byte ${message[0]} (expected 0, Confluent wire format)` }
  return { ok: true, schemaId: message.readUInt32BE(1), body: message.subarray(HEADER_LENGTH) }
}
