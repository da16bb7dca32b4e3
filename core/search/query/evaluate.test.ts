import { describe, expect, it } from 'vitest'
import { matchesDocument, type SearchDocument } from './evaluate.ts'
import { highlightTokens } from './highlight.ts'
import { parseSearchQuery } from './parse.ts'
import { LOG_SEARCH_SCHEMA } from './schema.ts'

function parsed(text: string) {
  const result = parseSearchQuery(text, LOG_SEARCH_SCHEMA)
  if (!result.ok) throw new Error(result.reason)
  return result.query
}

const line = (fields: Record<string, string>, attributes: Record<string, string> = {}): SearchDocument => ({
  service: 'checkout', level: 'error', host: 'web-3', trace_id: '', span_id: '', logger: '', message: '', ...fields, attributes,
})

const refused = line({ message: 'Connection refused to 10.0.0.1:5432' }, { region: 'eu', tier: 'gold' })
const timeout = line({ message: 'Timeout after 30s calling payments.example.com', service: 'api-gateway', level: 'warn', host: 'web-1', trace_id: '4bf92f35' }, { region: '' })
const reversed = line({ message: 'refused: connection limit reached', level: 'info', logger: 'app.http' })
const unicode = line({ message: 'Ünïcode Straße überprüft; café-crème 😀' })

describe('matchesDocument', () => {
  it.each<[string, SearchDocument, boolean]>([
    ['', reversed, true],
    ['refused', refused, true],
    ['REFUSED', refused, true],
    ['refuse', refused, false],
    ['10.0.0.1', refused, false], // a syntax error in liqe; quoted below
    ['"10.0.0.1"', refused, true],
    ['"10.0.0"', refused, true],
    ['"0.1:5432"', refused, true],
    ['"connection refused"', refused, true],
    ['"connection refused"', reversed, false],
    ['connection refused', reversed, true],
    ['"connection-refused"', refused, true],
    ['connection-refused', reversed, true],
    ['payments', timeout, true],
    ['"example com"', timeout, true],
    ['example.com', timeout, true],
    ['"Straße"', unicode, true],
    ['STRAßE', unicode, true],
    ['ünïcode', unicode, false], // only A–Z fold: Ü is not ü, as in ClickHouse
    ['Ünïcode', unicode, true],
    ['"café crème"', unicode, true],
    ['😀', unicode, true],
    ['service:checkout', refused, true],
    ['service:Checkout', refused, false],
    ['service:api*', timeout, true],
    ['service:api-*', timeout, true],
    ['service:gateway*', timeout, false],
    ['service:*', refused, true],
    ['logger:""', refused, true],
    ['logger:""', reversed, false],
    ['trace_id:4bf92f35', timeout, true],
    ['host:web-3 -level:info', refused, true],
    ['host:web-3 -level:info', reversed, false],
    ['(level:warn OR level:info) refused', reversed, true],
    ['(level:warn OR level:info) refused', refused, false],
    ['level:warn OR level:info AND refused', timeout, true],
    ['attributes.region:eu', refused, true],
    ['attributes.region:eu', reversed, false],
    ['attributes.region:e*', refused, true],
    ['attributes.region:""', timeout, true],
    ['attributes.region:""', reversed, false],
    ['attributes.region:*', timeout, true],
    ['attributes.region:*', reversed, false],
  ])('%j on %j: %s', (text, document, expected) => {
    if (text === '10.0.0.1') return expect(parseSearchQuery(text, LOG_SEARCH_SCHEMA).ok).toBe(false)
    expect(matchesDocument(parsed(text), LOG_SEARCH_SCHEMA, document)).toBe(expected)
  })

  // A missing key has no value, so it cannot have the value a NOT excludes: the line matches. ES
  // must_not and ClickHouse NOT (mapContains AND …) give the same.
  it('matches NOT on an attribute the line does not have', () => {
    expect(matchesDocument(parsed('-attributes.tier:gold'), LOG_SEARCH_SCHEMA, reversed)).toBe(true)
    expect(matchesDocument(parsed('-attributes.tier:gold'), LOG_SEARCH_SCHEMA, refused)).toBe(false)
    expect(matchesDocument(parsed('-attributes.tier:g*'), LOG_SEARCH_SCHEMA, reversed)).toBe(true)
    expect(matchesDocument(parsed('-attributes.tier:""'), LOG_SEARCH_SCHEMA, reversed)).toBe(true)
    expect(matchesDocument(parsed('-attributes.tier:*'), LOG_SEARCH_SCHEMA, reversed)).toBe(true)
  })

  it('reads absent or non-string fields as empty', () => {
    const sparse: SearchDocument = { message: 'hello', service: null, attributes: { n: 5 } }
    expect(matchesDocument(parsed('service:""'), LOG_SEARCH_SCHEMA, sparse)).toBe(true)
    expect(matchesDocument(parsed('host:""'), LOG_SEARCH_SCHEMA, sparse)).toBe(true)
    expect(matchesDocument(parsed('attributes.n:*'), LOG_SEARCH_SCHEMA, sparse)).toBe(false)
    expect(matchesDocument(parsed('hello'), LOG_SEARCH_SCHEMA, { message: 'hello' })).toBe(true)
  })
})

describe('highlightTokens', () => {
  it('lists the tokens that must occur, not the excluded ones', () => {
    expect(highlightTokens(parsed('Timeout "connection REFUSED" -debug NOT (noise OR "more noise") level:error (a OR b) NOT (NOT kept)'))).toEqual([
      'timeout', 'connection', 'refused', 'a', 'b', 'kept',
    ])
    expect(highlightTokens(parsed('service:x'))).toEqual([])
  })
})
