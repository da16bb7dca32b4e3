import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { containsPhrase, phrasePattern } from './phrase.ts'
import { SEPARATOR_CLASS, tokenize } from './tokens.ts'

const SEPARATOR = SEPARATOR_CLASS.replaceAll('\\', '\\\\').replace(/[[\]]/g, '\\$&')

describe('containsPhrase', () => {
  it.each([
    ['Connection refused to db', ['connection', 'refused'], true],
    ['connection-refused!', ['connection', 'refused'], true],
    ['CONNECTION \n\t REFUSED', ['connection', 'refused'], true],
    ['refused connection', ['connection', 'refused'], false],
    ['connection was refused', ['connection', 'refused'], false],
    ['connectionrefused', ['connection', 'refused'], false],
    ['reconnection refused', ['connection', 'refused'], false],
    ['a b a b c', ['a', 'b', 'c'], true],
  ] as const)('%j contains %j: %s', (text, phrase, expected) => {
    expect(containsPhrase(tokenize(text), phrase)).toBe(expected)
    expect(new RegExp(phrasePattern(phrase)).test(text)).toBe(expected)
  })
})

describe('phrasePattern', () => {
  it('is built from the tokens and the separator class only', () => {
    expect(phrasePattern(['refused', 'to', '10'])).toBe(
      `(?:^|${SEPARATOR_CLASS})[rR][eE][fF][uU][sS][eE][dD]${SEPARATOR_CLASS}+[tT][oO]${SEPARATOR_CLASS}+10(?:${SEPARATOR_CLASS}|$)`,
    )
    expect(phrasePattern(['café', 'ü😀'])).toBe(`(?:^|${SEPARATOR_CLASS})[cC][aA][fF]é${SEPARATOR_CLASS}+ü😀(?:${SEPARATOR_CLASS}|$)`)
  })

  it('refuses anything that is not a token, so no user character can be a metacharacter', () => {
    expect(() => phrasePattern(['a.b'])).toThrow(/not a token/)
    expect(() => phrasePattern(['(?i)'])).toThrow(/not a token/)
    expect(() => phrasePattern([])).toThrow()
  })

  // The same pattern runs in ClickHouse (RE2) and here (JavaScript). It must stay in what both
  // read alike: no lookaround, no backreferences, no flags, no escapes but \xHH.
  const COMMON_SUBSET = new RegExp(`^(?:\\(\\?:\\^\\|${SEPARATOR}\\)|\\(\\?:${SEPARATOR}\\|\\$\\)|${SEPARATOR}\\+|\\[[a-z][A-Z]\\]|[0-9\\u0080-\\uFFFF])+$`)

  const character = fc.oneof(
    fc.constantFrom('a', 'B', 'z', 'Z', '0', '9', 'é', 'É', 'ß', 'İ', 'ı', '\u212A', 'ſ', '😀', '中'),
    fc.constantFrom(' ', '-', '_', '.', ',', '\n', '\t', '\u0000', '\u007f', '*', '(', ')', '[', '\\', '^', '$', '|', '?', '+', '{', '}', '"', "'"),
  )
  const text = fc.oneof(
    fc.array(character, { maxLength: 16 }).map((characters) => characters.join('')),
    fc.string({ unit: 'grapheme', maxLength: 16 }),
    fc.string({ unit: 'binary', maxLength: 16 }),
  )
  // Phrases from elsewhere rarely occur; phrases cut from the message (and its upper-cased form) do.
  const pair = fc.oneof(
    fc.tuple(text, text).map(([message, other]) => ({ message, phrase: tokenize(other) })),
    fc.tuple(text, fc.nat(), fc.integer({ min: 1, max: 3 }), fc.boolean()).map(([message, start, length, upper]) => {
      const tokens = tokenize(message)
      const from = tokens.length === 0 ? 0 : start % tokens.length
      return { message: upper ? message.toUpperCase() : message, phrase: tokens.slice(from, from + length) }
    }),
  ).filter(({ phrase }) => phrase.length > 0)

  it('finds a phrase exactly when the token rule does (property)', () => {
    fc.assert(
      fc.property(pair, ({ message, phrase }) => {
        const pattern = phrasePattern(phrase)
        expect(pattern).toMatch(COMMON_SUBSET)
        expect(new RegExp(pattern).test(message)).toBe(containsPhrase(tokenize(message), phrase))
      }),
      { numRuns: 5_000 },
    )
  })
})
