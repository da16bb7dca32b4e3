import { describe, expect, it } from 'vitest'
import type { SearchNode } from './ast.ts'
import { parseSearchQuery, QUERY_LIMITS } from './parse.ts'
import { LOG_SEARCH_SCHEMA, NOTIFICATION_SEARCH_SCHEMA } from './schema.ts'

const term = (token: string): SearchNode => ({ kind: 'text-term', token })
const phrase = (...tokens: string[]): SearchNode => ({ kind: 'text-phrase', tokens })
const equals = (field: string, value: string): SearchNode => ({ kind: 'keyword-equals', field, value })
const prefix = (field: string, value: string): SearchNode => ({ kind: 'keyword-prefix', field, prefix: value })
const attribute = (key: string, value: string): SearchNode => ({ kind: 'attribute-equals', key, value })
const attributePrefix = (key: string, value: string): SearchNode => ({ kind: 'attribute-prefix', key, prefix: value })
const and = (...children: SearchNode[]): SearchNode => ({ kind: 'and', children })
const or = (...children: SearchNode[]): SearchNode => ({ kind: 'or', children })
const not = (child: SearchNode): SearchNode => ({ kind: 'not', child })

describe('parseSearchQuery: what parses', () => {
  it.each<[string, SearchNode]>([
    ['', { kind: 'match-all' }],
    ['timeout', term('timeout')],
    ['TimeOut', term('timeout')],
    ['foo-bar', and(term('foo'), term('bar'))],
    ['user_id', and(term('user'), term('id'))],
    ['"connection refused"', phrase('connection', 'refused')],
    ['"Refused"', term('refused')],
    ['"a \\"quoted\\" word"', phrase('a', 'quoted', 'word')],
    ['message:timeout', term('timeout')],
    ['message:"payments example com"', phrase('payments', 'example', 'com')],
    ['café ÜBER', and(term('café'), term('Über'))],
    ['404', term('404')],
    ['level:error', equals('level', 'error')],
    ['level:"error"', equals('level', 'error')],
    ["level:'error'", equals('level', 'error')],
    ['host:web-3', equals('host', 'web-3')],
    ['host:"10.0.0.1"', equals('host', '10.0.0.1')],
    ['service:"Checkout API"', equals('service', 'Checkout API')],
    ['service:""', equals('service', '')],
    ['service:api*', prefix('service', 'api')],
    ['service:"api*"', equals('service', 'api*')],
    ['service:*', prefix('service', '')],
    ['logger:007', equals('logger', '007')],
    ['logger:1.50', equals('logger', '1.50')],
    ['logger:-1', equals('logger', '-1')],
    ['logger:true', equals('logger', 'true')],
    ['logger:null', equals('logger', 'null')],
    ['logger:app.http', equals('logger', 'app.http')],
    ['trace_id:4bf92f35', equals('trace_id', '4bf92f35')],
    ['attributes.region:eu', attribute('region', 'eu')],
    ['attributes.deploy.zone:eu-west-1*', attributePrefix('deploy.zone', 'eu-west-1')],
    ['attributes.tier:*', attributePrefix('tier', '')],
    ['attributes.note:""', attribute('note', '')],
    ['-host:web-3', not(equals('host', 'web-3'))],
    ['NOT level:info', not(equals('level', 'info'))],
    ['-level:info -level:debug', and(not(equals('level', 'info')), not(equals('level', 'debug')))],
    ['-"connection refused"', not(phrase('connection', 'refused'))],
    ['NOT (NOT a)', not(not(term('a')))],
    ['a\nb\tc', and(term('a'), term('b'), term('c'))],
    ['a AND b AND c', and(term('a'), term('b'), term('c'))],
    ['(a OR b) c', and(or(term('a'), term('b')), term('c'))],
    ['((((((((a))))))))', term('a')],
    ['level:error AND NOT (service:a OR service:b)', and(equals('level', 'error'), not(or(equals('service', 'a'), equals('service', 'b'))))],
  ])('%j', (text, query) => {
    expect(parseSearchQuery(text, LOG_SEARCH_SCHEMA)).toEqual({ ok: true, query })
  })

  // liqe gives AND and OR one precedence, left to right; Kibana binds AND tighter.
  it.each<[string, SearchNode]>([
    ['a OR b AND c', or(term('a'), and(term('b'), term('c')))],
    ['a OR b c', or(term('a'), and(term('b'), term('c')))],
    ['a b OR c', or(and(term('a'), term('b')), term('c'))],
    ['a AND b OR c AND d', or(and(term('a'), term('b')), and(term('c'), term('d')))],
    ['NOT a OR b', or(not(term('a')), term('b'))],
  ])('AND binds tighter than OR: %j', (text, query) => {
    expect(parseSearchQuery(text, LOG_SEARCH_SCHEMA)).toEqual({ ok: true, query })
  })

  it('reads the example from the docs', () => {
    const text = 'level:error service:checkout "connection refused" timeout -host:web-3 attributes.region:eu trace_id:4bf92f35 (level:warn OR level:error) service:api*'
    expect(parseSearchQuery(text, LOG_SEARCH_SCHEMA)).toEqual({
      ok: true,
      query: and(
        equals('level', 'error'), equals('service', 'checkout'), phrase('connection', 'refused'), term('timeout'),
        not(equals('host', 'web-3')), attribute('region', 'eu'), equals('trace_id', '4bf92f35'),
        or(equals('level', 'warn'), equals('level', 'error')), prefix('service', 'api'),
      ),
    })
  })

  it('knows the notification fields', () => {
    expect(parseSearchQuery('status:failed error_message:"rate limited" user_id:u1* mailbox', NOTIFICATION_SEARCH_SCHEMA)).toEqual({
      ok: true,
      query: and(equals('status', 'failed'), phrase('rate', 'limited'), prefix('user_id', 'u1'), term('mailbox')),
    })
    expect(parseSearchQuery('level:error', NOTIFICATION_SEARCH_SCHEMA)).toMatchObject({ ok: false, field: 'level' })
  })

  it('accepts up to the limits', () => {
    expect(parseSearchQuery(Array.from({ length: QUERY_LIMITS.clauses }, (_, index) => `w${index}`).join(' '), LOG_SEARCH_SCHEMA).ok).toBe(true)
    expect(parseSearchQuery(`service:${'a'.repeat(QUERY_LIMITS.value)}`, LOG_SEARCH_SCHEMA).ok).toBe(true)
    expect(parseSearchQuery(`${'a '.repeat(499)}b`, LOG_SEARCH_SCHEMA).ok).toBe(false) // 500 clauses, under 1,000 characters
  })
})

describe('parseSearchQuery: what does not, and why', () => {
  it.each<[string, string | undefined, RegExp]>([
    ['   ', undefined, /blank: leave it empty to match everything/],
    ['x'.repeat(QUERY_LIMITS.text + 1), undefined, /1001 characters long, at most 1000/],
    ['level:error AND', undefined, /incomplete/],
    ['"connection refused', undefined, /incomplete/],
    ['(a OR b', undefined, /incomplete/],
    ['a)', undefined, /^syntax error at character 2 \("\)"\)$/],
    ['NOT NOT a', undefined, /^syntax error at character 8/],
    ['-1', undefined, /more than one way.*NOT 404/],
    ['foo:bar', 'foo', /unknown field; the fields are service, level, host, trace_id, span_id, logger, message, attributes.<key>/],
    ['message.keyword:x', 'message.keyword', /unknown field/],
    ['attributes:eu', 'attributes', /name the attribute: attributes.<key>:value/],
    ['attributes.a..b:x', 'attributes.a..b', /attribute key/],
    ['"attributes.my key":x', 'attributes.my key', /attribute key/],
    [`attributes.${'k'.repeat(101)}:x`, `attributes.${'k'.repeat(101)}`, /attribute key is 1 to 100/],
    ['timeout*', undefined, /"timeout\*": wildcards are not supported on the text/],
    ['time?', undefined, /wildcards are not supported on the text/],
    ['*', undefined, /wildcards are not supported on the text/],
    ['message:time*', 'message', /wildcards are not supported on the text/],
    ['service:a*b', 'service', /\* is only supported once, at the end/],
    ['service:a**', 'service', /\* is only supported once, at the end/],
    ['attributes.zone:*eu', 'attributes.zone', /\* is only supported once, at the end/],
    ['service:api?', 'service', /\? wildcards are not supported/],
    ['level:>3', 'level', /comparisons \(>\) are not supported/],
    ['level:<=3', 'level', /comparisons \(<=\) are not supported/],
    ['level:=error', 'level', /comparisons \(=\) are not supported/],
    ['level:[1 TO 5]', 'level', /ranges \(\[a TO b\]\) are not supported/],
    ['level:/err.*/', 'level', /regular expressions are not supported/],
    ['level:', 'level', /no value after the colon/],
    ['()', undefined, /empty parentheses/],
    ['"---"', undefined, /"---" has no letters or digits/],
    ['message:""', 'message', /has no letters or digits/],
    [`service:${'a'.repeat(QUERY_LIMITS.value + 1)}`, 'service', /a value may be at most 256 characters/],
    [Array.from({ length: QUERY_LIMITS.clauses + 1 }, (_, index) => `w${index}`).join(' '), undefined, /more than 32 clauses/],
    [`${'('.repeat(9)}a${')'.repeat(9)}`, undefined, /parentheses nest more than 8 levels deep/],
  ])('%j', (text, field, reason) => {
    const result = parseSearchQuery(text, LOG_SEARCH_SCHEMA)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.field).toBe(field)
    expect(result.reason).toMatch(reason)
  })

  it('says where a syntax error is and how to fix the usual cause', () => {
    expect(parseSearchQuery('host:10.0.0.1', LOG_SEARCH_SCHEMA)).toEqual({
      ok: false,
      reason: 'syntax error at character 10 ("."): values with other characters than letters, digits and _ - . @ # $ need double quotes, e.g. host:"10.0.0.1"',
      position: 9,
    })
  })

  it('allows a query of negations only', () => {
    expect(parseSearchQuery('-level:info NOT attributes.tier:gold', LOG_SEARCH_SCHEMA)).toEqual({
      ok: true,
      query: and(not(equals('level', 'info')), not(attribute('tier', 'gold'))),
    })
  })
})
