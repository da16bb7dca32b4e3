import { describe, expect, it } from 'vitest'
import { foldCase, tokenize, tokenSpans } from './tokens.ts'

describe('tokenize', () => {
  it.each([
    ['Connection refused to 10.0.0.1:5432', ['connection', 'refused', 'to', '10', '0', '0', '1', '5432']],
    ['user_id=42 logged-in', ['user', 'id', '42', 'logged', 'in']],
    ['payments.example.com', ['payments', 'example', 'com']],
    ['  TIMEOUT\tafter\n2s  ', ['timeout', 'after', '2s']],
    ['café crème', ['café', 'crème']],
    ['Ünïcode STRAßE', ['Ünïcode', 'straße']],
    ['emoji😀inside x😀', ['emoji😀inside', 'x😀']],
    ['«quoted» — dash', ['«quoted»', '—', 'dash']],
    ['', []],
    ['--- ... ___', []],
  ])('%j → %j', (text, tokens) => {
    expect(tokenize(text)).toEqual(tokens)
  })

  it('gives offsets of the text as written, for highlighting', () => {
    const text = 'GET /Api/v1 (Straße)'
    expect(tokenSpans(text).map(([start, end]) => text.slice(start, end))).toEqual(['GET', 'Api', 'v1', 'Straße'])
  })
})

describe('foldCase', () => {
  it('folds ASCII letters only, as hasTokenCaseInsensitive does', () => {
    // Not even the Kelvin sign, which Unicode folds to k.
    expect(foldCase('TimeOut ÄÖÜ É İ \u212A')).toBe('timeout ÄÖÜ É İ \u212A')
  })
})
