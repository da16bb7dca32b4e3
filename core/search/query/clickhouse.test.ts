import { describe, expect, it } from 'vitest'
import type { SearchNode } from './ast.ts'
import { toClickHouseCondition } from './clickhouse.ts'
import { parseSearchQuery } from './parse.ts'
import { LOG_SEARCH_SCHEMA } from './schema.ts'
import { HOSTILE_VALUES, hostileClauses } from './test-values.ts'

function parsed(text: string): SearchNode {
  const result = parseSearchQuery(text, LOG_SEARCH_SCHEMA)
  if (!result.ok) throw new Error(result.reason)
  return result.query
}

/** The SQL with every placeholder replaced by `?`: what is left may only be fixed vocabulary. */
const skeleton = (sql: string) => sql.replace(/\{q\d+:String\}/g, '?')
const VOCABULARY = /^(?:AND|OR|NOT|1|\?|hasTokenCaseInsensitive|match|startsWith|mapContains|service|level|host|trace_id|span_id|logger|message|attributes|[ ()=,[\]])*$/

describe('toClickHouseCondition', () => {
  it('translates the documented example', () => {
    const condition = toClickHouseCondition(parsed('level:error service:checkout "connection refused" timeout -host:web-3 attributes.region:eu (level:warn OR level:error) service:api*'), LOG_SEARCH_SCHEMA)
    expect(condition.sql).toMatchInlineSnapshot(`"(level = {q0:String}) AND (service = {q1:String}) AND (hasTokenCaseInsensitive(message, {q2:String}) AND hasTokenCaseInsensitive(message, {q3:String}) AND match(message, {q4:String})) AND (hasTokenCaseInsensitive(message, {q5:String})) AND (NOT (host = {q6:String})) AND (mapContains(attributes, {q7:String}) AND attributes[{q7:String}] = {q8:String}) AND ((level = {q9:String}) OR (level = {q10:String})) AND (startsWith(service, {q11:String}))"`)
    expect(condition.params).toMatchInlineSnapshot(`
      {
        "q0": "error",
        "q1": "checkout",
        "q10": "error",
        "q11": "api",
        "q2": "connection",
        "q3": "refused",
        "q4": "(?:^|[\\x00-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F])[cC][oO][nN][nN][eE][cC][tT][iI][oO][nN][\\x00-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F]+[rR][eE][fF][uU][sS][eE][dD](?:[\\x00-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F]|$)",
        "q5": "timeout",
        "q6": "web-3",
        "q7": "region",
        "q8": "eu",
        "q9": "warn",
      }
    `)
  })

  it('checks the key is present before comparing an attribute, and for attributes.key:*', () => {
    expect(toClickHouseCondition(parsed('-attributes.tier:gold attributes.zone:*'), LOG_SEARCH_SCHEMA)).toMatchInlineSnapshot(`
          {
            "params": {
              "q0": "tier",
              "q1": "gold",
              "q2": "zone",
            },
            "sql": "(NOT (mapContains(attributes, {q0:String}) AND attributes[{q0:String}] = {q1:String})) AND (mapContains(attributes, {q2:String}))",
          }
        `)
  })

  it.each(HOSTILE_VALUES)('keeps %j out of the SQL: only parameters carry it', (value) => {
    for (const node of [...hostileClauses(value), { kind: 'not', child: { kind: 'or', children: hostileClauses(value) } } satisfies SearchNode]) {
      const { sql, params } = toClickHouseCondition(node, LOG_SEARCH_SCHEMA)
      expect(skeleton(sql)).toMatch(VOCABULARY)
      expect(Object.values(params)).toContain(value)
      expect(new Set(sql.match(/\{q\d+:String\}/g)?.map((placeholder) => placeholder.slice(1, -8)))).toEqual(new Set(Object.keys(params)))
    }
  })

  it('binds phrase tokens and the phrase pattern as parameters too', () => {
    const { sql, params } = toClickHouseCondition(parsed('"it\'s a {x:String} \\\\ (test)"'), LOG_SEARCH_SCHEMA)
    expect(skeleton(sql)).toMatch(VOCABULARY)
    expect(sql).toBe('hasTokenCaseInsensitive(message, {q0:String}) AND hasTokenCaseInsensitive(message, {q1:String}) AND hasTokenCaseInsensitive(message, {q2:String}) AND hasTokenCaseInsensitive(message, {q3:String}) AND hasTokenCaseInsensitive(message, {q4:String}) AND hasTokenCaseInsensitive(message, {q5:String}) AND match(message, {q6:String})')
    expect(Object.values(params).slice(0, 6)).toEqual(['it', 's', 'a', 'x', 'string', 'test'])
  })

  it('names parameters after the caller\'s prefix, so they never collide with its own', () => {
    const { sql, params } = toClickHouseCondition(parsed('a b service:c'), LOG_SEARCH_SCHEMA, 'search_')
    expect(Object.keys(params)).toEqual(['search_0', 'search_1', 'search_2'])
    expect(sql).toBe('(hasTokenCaseInsensitive(message, {search_0:String})) AND (hasTokenCaseInsensitive(message, {search_1:String})) AND (service = {search_2:String})')
    expect(() => toClickHouseCondition(parsed('a'), LOG_SEARCH_SCHEMA, 'q}{')).toThrow(/not an identifier/)
  })

  it('matches everything for the empty query', () => {
    expect(toClickHouseCondition(parsed(''), LOG_SEARCH_SCHEMA)).toEqual({ sql: '1', params: {} })
  })

  it('refuses a field the schema does not have', () => {
    expect(() => toClickHouseCondition({ kind: 'keyword-equals', field: 'project_id', value: 'x' }, LOG_SEARCH_SCHEMA)).toThrow(/no keyword field/)
  })
})
