/**
 * The token rule every evaluator shares. A token is a maximal run of ASCII letters and digits and
 * non-ASCII characters; every other ASCII character (space, punctuation, `_`, `.`, `-`, controls)
 * separates. That is ClickHouse's `hasTokenCaseInsensitive` rule: it works on UTF-8 bytes and
 * treats every byte ≥ 0x80 as part of a token, and every non-ASCII UTF-16 code unit (surrogates
 * included) is ≥ 0x80 too, so JavaScript splits the same text at the same places.
 *
 * Case is folded for ASCII letters only, because that is all `hasTokenCaseInsensitive` (and the
 * `lower()` its skip index is built on) folds: `TIMEOUT` finds `timeout`, `Ünïcode` does not find
 * `ünïcode`. Full Unicode folding would make ClickHouse disagree with the others.
 */

/** The separator characters as a character class, in the syntax RE2, Java and JavaScript share. */
export const SEPARATOR_CLASS = '[\\x00-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F]'

function isTokenUnit(code: number): boolean {
  return code >= 0x80 || (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)
}

/** Where the tokens of `text` are: [start, end) UTF-16 offsets, in order. */
export function tokenSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = []
  let start = -1
  for (let index = 0; index < text.length; index++) {
    if (isTokenUnit(text.charCodeAt(index))) {
      if (start < 0) start = index
    } else if (start >= 0) {
      spans.push([start, index])
      start = -1
    }
  }
  if (start >= 0) spans.push([start, text.length])
  return spans
}

/** Lower-cases A–Z and nothing else. */
export function foldCase(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())
}

/** The tokens of `text`, case-folded: what is compared. */
export function tokenize(text: string): string[] {
  return tokenSpans(text).map(([start, end]) => foldCase(text.slice(start, end)))
}
