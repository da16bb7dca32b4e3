/**
 * Keys of the state store sort by code point, which is the order of their UTF-8 bytes and the
 * order LMDB keeps them in. JavaScript's `<` compares UTF-16 units instead, which puts characters
 * above U+FFFF (stored as surrogate pairs) before U+E000–U+FFFF; the heap store would then iterate
 * a range in another order than the disk store, and the two would not give the same rows.
 */
export function compareCodePoints(left: string, right: string): number {
  const length = Math.min(left.length, right.length)
  for (let index = 0; index < length; index++) {
    let a = left.charCodeAt(index)
    let b = right.charCodeAt(index)
    if (a === b) continue
    if (a >= 0xd800 && b >= 0xd800) {
      // Surrogates (0xD800–0xDFFF) move above 0xFFFF's units, the rest of the range below them.
      a = a >= 0xe000 ? a - 0x800 : a + 0x2000
      b = b >= 0xe000 ? b - 0x800 : b + 0x2000
    }
    return a - b
  }
  return left.length - right.length
}

/**
 * Integers as fixed-width text that sorts as the numbers do, negative too (fractions are
 * floored). Offset by 2^52, not 2^53: past 2^53 a double cannot hold odd integers, and
 * neighbouring numbers would share a key.
 */
export function sortableNumber(value: number): string {
  return Math.min(2 ** 53 - 1, Math.max(0, Math.floor(value) + 2 ** 52)).toString(16).padStart(14, '0')
}

const doubleView = new DataView(new ArrayBuffer(8))

/**
 * Any number as 16 hex digits that sort exactly as the numbers do, fractions included: the IEEE 754
 * bits with the sign bit flipped for positive numbers and every bit flipped for negative ones.
 */
export function sortableDouble(value: number): string {
  doubleView.setFloat64(0, value)
  let high = doubleView.getUint32(0)
  let low = doubleView.getUint32(4)
  if (high >= 0x80000000) {
    high = ~high >>> 0
    low = ~low >>> 0
  } else high = (high | 0x80000000) >>> 0
  // By byte from a table: toString(16) and padStart were a tenth of a checkpoint's time (every
  // timer and session index key has one of these).
  return HEX_BYTES[high >>> 24]! + HEX_BYTES[(high >>> 16) & 0xff]! + HEX_BYTES[(high >>> 8) & 0xff]! + HEX_BYTES[high & 0xff]! +
    HEX_BYTES[low >>> 24]! + HEX_BYTES[(low >>> 16) & 0xff]! + HEX_BYTES[(low >>> 8) & 0xff]! + HEX_BYTES[low & 0xff]!
}

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'))

/** The number sortableDouble wrote. */
export function fromSortableDouble(text: string): number {
  let high = Number.parseInt(text.slice(0, 8), 16)
  let low = Number.parseInt(text.slice(8, 16), 16)
  if (high >= 0x80000000) high = (high & 0x7fffffff) >>> 0
  else {
    high = ~high >>> 0
    low = ~low >>> 0
  }
  doubleView.setUint32(0, high)
  doubleView.setUint32(4, low)
  return doubleView.getFloat64(0)
}
