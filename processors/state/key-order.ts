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
