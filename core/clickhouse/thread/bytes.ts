/**
 * A stream's whole body as bytes that own their ArrayBuffer, so it can move to the other thread
 * (transferred, not copied) without taking memory from anyone still using it: a pooled small
 * buffer, or a view into a larger one, is copied first. chDB hands a result over in one chunk, an
 * insert body comes as one container, so this is rarely more than one copy.
 */
export async function ownedBytes(stream: AsyncIterable<Buffer | Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  const whole = Buffer.concat(chunks)
  return whole.byteOffset === 0 && whole.byteLength === whole.buffer.byteLength ? whole : new Uint8Array(whole)
}
