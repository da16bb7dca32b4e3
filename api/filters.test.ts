import { describe, expect, it } from 'vitest'
import { problemField } from '../test/support/problem-field.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { eventScope, filterConditions, parseFilters } from './filters.ts'
import { scopeParams } from './queries/sql.ts'

const scope = { database: 'eddy', projectId: 'alpha', fromMs: 0, toMs: 60_000, timezone: 'UTC' }

const fieldOf = problemField

describe('parseFilters', () => {
  it('reads [operator, dimension, values] triples; a single value may be a string', () => {
    expect(parseFilters('[["is","browser",["Firefox","Chrome"]],["contains","path","/blog"],["is_not","property:plan",["free"]]]')).toEqual([
      { operator: 'is', dimension: 'browser', values: ['Firefox', 'Chrome'] },
      { operator: 'contains', dimension: 'path', values: ['/blog'] },
      { operator: 'is_not', dimension: 'property:plan', values: ['free'] },
    ])
    expect(parseFilters(undefined)).toEqual([])
  })

  it('names the exact place of every problem', () => {
    expect(fieldOf(() => parseFilters('{'))).toBe('querystring/filters')
    expect(fieldOf(() => parseFilters('{"is":1}'))).toBe('querystring/filters')
    expect(fieldOf(() => parseFilters('[["is","path"]]'))).toBe('querystring/filters/0')
    expect(fieldOf(() => parseFilters('[["is","path",["/"]],["like","path",["/"]]]'))).toBe('querystring/filters/1/0')
    expect(fieldOf(() => parseFilters('[["is","project_id",["beta"]]]'))).toBe('querystring/filters/0/1')
    expect(fieldOf(() => parseFilters('[["is","property:a b",["x"]]]'))).toBe('querystring/filters/0/1')
    expect(fieldOf(() => parseFilters('[["is","path",[]]]'))).toBe('querystring/filters/0/2')
    expect(fieldOf(() => parseFilters('[["is","path",["/",7]]]'))).toBe('querystring/filters/0/2/1')
    expect(fieldOf(() => parseFilters(JSON.stringify(Array.from({ length: 21 }, () => ['is', 'path', ['/']]))))).toBe('querystring/filters')
  })
})

describe('filterConditions', () => {
  it('passes values and property keys as parameters, never as SQL text', () => {
    const p = scopeParams(scope)
    const hostile = "x') OR 1=1 --"
    const sql = filterConditions(parseFilters(JSON.stringify([['is', 'path', [hostile]], ['contains', 'property:plan', ['pro']], ['is_not', 'device', ['bot']]])), 'raw', p)
    expect(sql).toEqual([
      'has({p4:Array(String)}, path)',
      'multiSearchAny(properties[{p5:String}], {p6:Array(String)})',
      'NOT has({p7:Array(String)}, device_type)',
    ])
    expect(sql.join(' ')).not.toContain(hostile)
    expect(Object.values(p.params.values)).toContain('plan')
    expect(Object.values(p.params.values)).toContainEqual([hostile])
  })

  it('answers entry and exit pages on raw events through the sessions table, directly on sessions', () => {
    const filters = parseFilters('[["is","entry_page",["/pricing"]]]')
    const [raw] = filterConditions(filters, 'raw', scopeParams(scope))
    expect(raw).toMatch(/^anonymous_id IN \(SELECT anonymous_id FROM eddy\.sessions FINAL\s+WHERE project_id = \{p0:String\} AND is_deleted = 0/)
    expect(filterConditions(filters, 'sessions', scopeParams(scope))).toEqual(['has({p4:Array(String)}, entry_path)'])
  })

  it('counts only pageviews unless events are asked for by name', () => {
    expect(eventScope([])).toBe(`type = 'pageview'`)
    expect(eventScope([], 'event')).toBe(`type IN ('pageview', 'custom', 'click')`)
    expect(eventScope(parseFilters('[["is","event",["Signed Up"]]]'))).toBe(`type IN ('pageview', 'custom', 'click')`)
  })
})

describe('cursors', () => {
  it('round-trip and refuse cursors of another list or shape', () => {
    const cursor = encodeCursor('breakdown|path', [3, '/pricing'])
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeCursor(cursor, 'breakdown|path', ['number', 'string'])).toEqual([3, '/pricing'])
    expect(fieldOf(() => decodeCursor(cursor, 'breakdown|country', ['number', 'string']))).toBe('querystring/cursor')
    expect(fieldOf(() => decodeCursor(cursor, 'breakdown|path', ['number', 'string', 'string']))).toBe('querystring/cursor')
    expect(fieldOf(() => decodeCursor('not a cursor', 'breakdown|path', ['number', 'string']))).toBe('querystring/cursor')
  })
})
