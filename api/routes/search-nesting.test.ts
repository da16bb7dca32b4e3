import fc from 'fast-check'
import Fastify from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { KeyRing } from '../../core/auth/keys.ts'
import { installProblemHandler } from '../../core/http/error-handler.ts'
import type { SearchRequest, SearchStore } from '../../core/search/port.ts'
import { parenthesisDepth, QUERY_LIMITS } from '../../core/search/query/parse.ts'
import { API_FRAMEWORK_PROBLEMS } from '../errors.ts'
import { parseFilters } from '../filters.ts'
import type { ReadRouteOptions } from './context.ts'
import { searchRoutes } from './search.ts'

const NOW = Date.parse('2026-11-22T12:00:00.000Z')
const READ_KEY = 'shop-read-key'

/** Remembers every query that reached the store; answers an empty page. */
const searched: SearchRequest[] = []
const store: SearchStore = {
  backend: 'clickhouse',
  search: async (request) => {
    searched.push(request)
    return { hits: [], total: { value: 0, relation: 'eq' } }
  },
  context: async () => undefined,
}

const app = Fastify()
beforeAll(async () => {
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS)
  const options = { keys: new KeyRing([{ id: 'shop', writeKeys: ['shop-write-key'], readKeys: [READ_KEY] }]), now: () => NOW, database: 'eddy', runner: undefined as unknown as ReadRouteOptions['runner'], search: store }
  await app.register(searchRoutes, options)
})
afterAll(() => app.close())

const search = (q: string, cursor?: string) =>
  app.inject({ method: 'GET', url: '/api/v1/logs/search', query: { q, period: '24h', ...(cursor === undefined ? {} : { cursor }) }, headers: { authorization: `Bearer ${READ_KEY}` } })

/** Query text as people and fuzzers write it: nested groups, NOT and - chains, long AND/OR runs. */
const queryText = fc.oneof(
  fc.record({ depth: fc.integer({ min: 0, max: 499 }), word: fc.constantFrom('a', 'level:error', '"x y"', 'attributes.k:v*') }).map(({ depth, word }) => `${'('.repeat(depth)}${word}${')'.repeat(depth)}`),
  fc.record({ depth: fc.integer({ min: 1, max: 300 }), prefix: fc.constantFrom('NOT ', '-', 'NOT (', '(a OR ') }).map(({ depth, prefix }) => `${prefix.repeat(depth)}b${prefix.endsWith('(') ? ')'.repeat(depth) : ''}`),
  fc.record({ count: fc.integer({ min: 1, max: 200 }), operator: fc.constantFrom(' ', ' AND ', ' OR ') }).map(({ count, operator }) => Array.from({ length: count }, (_, index) => `w${index}`).join(operator)),
  fc.string({ unit: fc.constantFrom('(', ')', '"', '\\', 'a', ' ', ':', '-', '*'), maxLength: 200 }),
).map((text) => text.slice(0, 1_000))

it('log search answers 200 or 400 to any nesting in q or cursor, and keeps serving', async () => {
  await fc.assert(
    fc.asyncProperty(queryText, fc.option(fc.integer({ min: 0, max: 700 }), { nil: undefined }), async (q, cursorDepth) => {
      // A cursor is base64url JSON: a deep one must be refused like any foreign cursor.
      const cursor = cursorDepth === undefined ? undefined : Buffer.from(`{"l":"logs/search:desc","k":${'['.repeat(cursorDepth)}${']'.repeat(cursorDepth)}}`).toString('base64url')
      const before = searched.length
      const response = await search(q, cursor)
      expect(response.statusCode, `${q.slice(0, 80)}: ${response.body.slice(0, 200)}`).toBeLessThan(500)
      if (cursor === undefined && parenthesisDepth(q) > QUERY_LIMITS.depth) {
        expect(response.statusCode).toBe(400)
        expect(response.json().errors[0]).toEqual({ field: 'querystring/q', reason: `parentheses nest more than ${QUERY_LIMITS.depth} levels deep` })
      }
      if (response.statusCode === 400) expect(searched.length).toBe(before)
      // Still serving: a plain query reaches the store.
      expect((await search('level:error')).statusCode).toBe(200)
      expect(searched.at(-1)!.query).toEqual({ kind: 'keyword-equals', field: 'level', value: 'error' })
    }),
    { numRuns: 150, seed: 21, endOnFailure: true },
  )
}, 60_000)

it('reads parentheses outside quotes and escapes only', () => {
  expect(parenthesisDepth('((a) (b))')).toBe(2)
  expect(parenthesisDepth('"((((((((((" a')).toBe(0)
  expect(parenthesisDepth('\\(\\(\\( a')).toBe(0)
  expect(parenthesisDepth(')))(')).toBe(1)
})

it('refuses filters nested at any depth as a bad parameter, not a crash', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 10_000 }), (depth) => {
      const text = `[["is","path",${'['.repeat(depth)}"/x"${']'.repeat(depth)}]]`
      expect(() => parseFilters(text)).toThrow(/querystring\/filters\/0\/2/)
    }),
    { numRuns: 30, seed: 21 },
  )
})
