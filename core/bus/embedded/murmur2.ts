/**
 * Kafka's default partitioner: murmur2 of the UTF-8 key bytes, as the Java client
 * (`Utils.murmur2`) and kafkajs' DefaultPartitioner compute it. Keeping this bit-exact is what lets
 * a key land on the same partition number whether the embedded log or Kafka carries it.
 */

const SEED = 0x9747b28c
const M = 0x5bd1e995

/** Signed 32-bit murmur2, identical to Java's `Utils.murmur2(byte[])`. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const whole = length & ~3
  for (let i = 0; i < whole; i += 4) {
    // Math.imul keeps the multiply in 32-bit two's complement, like Java's int overflow.
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const rest = length & 3
  if (rest === 3) h ^= data[whole + 2]! << 16
  if (rest >= 2) h ^= data[whole + 1]! << 8
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, M)
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h
}

/** Kafka's `toPositive`: masks the sign bit rather than taking the absolute value. */
export function toPositive(value: number): number {
  return value & 0x7fffffff
}

export function partitionForKey(key: string, partitions: number): number {
  return toPositive(murmur2(Buffer.from(key, 'utf8'))) % partitions
}
