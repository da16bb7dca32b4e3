/**
 * A task's snapshot is the snapshots of its parts (operators, deduplicator, keyed state) in a fixed
 * order, each length-prefixed, so parts stay independent and the whole stays byte-deterministic.
 */
export function joinSnapshots(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + 4 + part.length, 4)
  const bytes = new Uint8Array(total)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, parts.length)
  let offset = 4
  for (const part of parts) {
    view.setUint32(offset, part.length)
    bytes.set(part, offset + 4)
    offset += 4 + part.length
  }
  return bytes
}

export function splitSnapshot(bytes: Uint8Array, expectedParts: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = view.getUint32(0)
  if (count !== expectedParts) throw new Error(`snapshot has ${count} parts, the job expects ${expectedParts}`)
  const parts: Uint8Array[] = []
  let offset = 4
  for (let index = 0; index < count; index++) {
    const length = view.getUint32(offset)
    parts.push(bytes.subarray(offset + 4, offset + 4 + length))
    offset += 4 + length
  }
  if (offset !== bytes.length) throw new Error('trailing bytes after the snapshot parts')
  return parts
}

/** A number as a snapshot part (a counter kept beside the operators), in the platform's byte order as it always was. */
export function numberPart(value: number): Uint8Array {
  return new Uint8Array(new Float64Array([value]).buffer)
}

/** Reads a numberPart; the part may be a view into a larger buffer (a Buffer read from disk). */
export function readNumberPart(part: Uint8Array): number {
  if (part.byteLength !== 8) throw new Error(`a number part has 8 bytes, not ${part.byteLength}`)
  return new Float64Array(new Uint8Array(part).buffer)[0]! // a copy: `part` may start anywhere in its buffer
}
