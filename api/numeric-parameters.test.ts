import type { ClickHouseClient } from '@clickhouse/client'
import fc from 'fast-check'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyRing } from '../core/auth/keys.ts'
import type { SearchStore } from '../core/search/port.ts'
import { apiPlugin } from './app.ts'
import { numberRefusal } from './strict-query.ts'

const READ_KEY = 'shop-read-key'

/** Any query that reaches the store is a failure of this test: bad numbers must stop before it. */
const reached: string[] = []
const clickhouse = {
  query: async ({ query }: { query: string }) => {
    reached.push(query)
    throw new Error('no store in this test')
  },
} as unknown as ClickHouseClient
const search: SearchStore = {
  backend: 'clickhouse',
  search: async () => {
    reached.push('search')
    throw new Error('no store in this test')
  },
  context: async () => {
    reached.push('context')
    throw new Error('no store in this test')
  },
}

/** Every GET route's numeric query parameters, read from the schemas the routes register. */
const numeric: Array<{ url: string; name: string; kind: string }> = []
const app = Fastify()
beforeAll(async () => {
  app.addHook('onRoute', (route) => {
    const properties = (route.schema?.querystring as { properties?: Record<string, { type?: string }> } | undefined)?.properties ?? {}
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.includes('GET')) return
    for (const [name, property] of Object.entries(properties)) {
      if (property.type === 'integer' || property.type === 'number') numeric.push({ url: route.url, name, kind: property.type })
    }
  })
  await app.register(apiPlugin, { keys: new KeyRing([{ id: 'shop', writeKeys: ['w'], readKeys: [READ_KEY] }]), clickhouse, database: 'eddy', search, docsUi: false })
  await app.ready()
})
afterAll(() => app.close())

/** What a client may send for a number that is not one, in the forms JavaScript's Number() would take. */
const notANumber = fc.oneof(
  fc.constantFrom('Infinity', '-Infinity', '+Infinity', 'NaN', '1e309', '1e3', '1E2', '0x10', '0X1f', '0b11', '0o7', ' 5', '5 ', '', '+5', '1_000', '٣', '10.', '.5'),
  fc.integer({ min: 16, max: 400 }).map((digits) => '9'.repeat(digits)),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: -400, max: 400 })).map(([mantissa, exponent]) => `${mantissa}e${exponent}`),
)

describe('numeric query parameters', () => {
  it('finds the numeric parameters the api has', () => {
    const names = numeric.map(({ url, name }) => `${url}?${name}`)
    for (const expected of ['/api/v1/stats/funnel?window', '/api/v1/stats/breakdown?limit', '/api/v1/stats/realtime?minutes', '/api/v1/logs/search?size', '/api/v1/notifications/search?size']) {
      expect(names).toContain(expected)
    }
  })

  it('answers 400 naming the parameter for anything but decimal digits, before any query', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...numeric), notANumber, async ({ url, name }, value) => {
        const before = reached.length
        const response = await app.inject({ method: 'GET', url, query: { [name]: value }, headers: { authorization: `Bearer ${READ_KEY}` } })
        expect(response.statusCode, `${url}?${name}=${value}: ${response.body}`).toBe(400)
        expect(response.headers['content-type']).toContain('application/problem+json')
        expect(response.json().errors.map((error: { field: string }) => error.field)).toContain(`querystring/${name}`)
        expect(reached.length).toBe(before)
      }),
      { seed: 21, numRuns: 300 },
    )
  })

  it('takes plain decimals, within the schema to check their range', () => {
    expect(numberRefusal('30', 'integer')).toBeUndefined()
    expect(numberRefusal('-2', 'integer')).toBeUndefined()
    expect(numberRefusal('2.5', 'number')).toBeUndefined()
    expect(numberRefusal('2.5', 'integer')).toMatch(/integer/)
    expect(numberRefusal(['1', '2'], 'integer')).toBe('must be given once')
  })
})
