import { SEPARATOR_CLASS, foldCase } from './tokens.ts'

/**
 * The phrase rule: the phrase's tokens occur one after another, in order, separated by any run of
 * separators. Two forms of the same rule: on token sequences (the evaluator) and as a regular
 * expression over the raw text (ClickHouse's `match`, where the phrase cannot be looked up by
 * token position).
 */

/** True when `phrase` occurs in `tokens` as consecutive tokens. Both are case-folded tokens. */
export function containsPhrase(tokens: readonly string[], phrase: readonly string[]): boolean {
  if (phrase.length === 0) return true
  const last = tokens.length - phrase.length
  outer: for (let start = 0; start <= last; start++) {
    for (let offset = 0; offset < phrase.length; offset++) {
      if (tokens[start + offset] !== phrase[offset]) continue outer
    }
    return true
  }
  return false
}

/**
 * A pattern that finds the phrase in a text under the token rule. It is made only of the tokens'
 * own characters (letters, digits, non-ASCII — none of them special in a pattern), the separator
 * class, `^`, `$`, `|`, `+` and non-capturing groups: the subset RE2 and JavaScript read alike,
 * with no lookaround. Instead of a lookbehind the pattern consumes the separator before the first
 * token, which is enough for a yes/no match. ASCII letters become `[aA]` rather than using `(?i)`,
 * which in RE2 would also fold non-ASCII letters and disagree with the token rule.
 */
export function phrasePattern(phrase: readonly string[]): string {
  if (phrase.length === 0) throw new Error('a phrase has at least one token')
  const body = phrase.map(tokenPattern).join(`${SEPARATOR_CLASS}+`)
  return `(?:^|${SEPARATOR_CLASS})${body}(?:${SEPARATOR_CLASS}|$)`
}

function tokenPattern(token: string): string {
  if (!/^[A-Za-z0-9\u0080-\uFFFF]+$/.test(token)) throw new Error(`not a token: ${JSON.stringify(token)}`)
  return foldCase(token).replace(/[a-z]/g, (letter) => `[${letter}${letter.toUpperCase()}]`)
}
