import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { KeyRing } from '../core/auth/keys.ts'
import { createMemoryQueryCache } from '../core/cache/memory.ts'
import { installProblemHandler } from '../core/http/error-handler.ts'
import { API_FRAMEWORK_PROBLEMS } from './errors.ts'
import { cacheKey, installQueryCache } from './query-cache.ts'

const NOW = Date.parse('2026-11-22T12:00:30Z')
const keys = new KeyRing([{ id: 'shop', writeKeys: [], readKeys: ['read-key-shop'] }, { id: 'blog', writeKeys: [], readKeys: ['read-key-blog'] }])

async function build() {
  let clock = NOW
  let computed = 0
  const app = Fastify()
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS)
  installQueryCache(app, { cache: createMemoryQueryCache({ clock: () => clock }), keys, now: () => NOW, openTtlMs: 5_000, closedTtlMs: 60_000 })
  app.get('/api/v1/stats/aggregate', async () => ({ computed: ++computed }))
  app.get('/api/v1/logs/search', async () => ({ computed: ++computed }))
  const get = async (url: string, key = 'read-key-shop') => {
    const response = await app.inject({ url, headers: { authorization: `Bearer ${key}` } })
    return { status: response.statusCode, cache: response.headers['x-eddy-cache'], body: response.json() }
  }
  return { app, get, advance: (ms: number) => (clock += ms) }
}

describe('api query cache', () => {
  it('keys by project and normalised query, and lives shorter for periods that include now', async () => {
    const { get, advance } = await build()
    expect(await get('/api/v1/stats/aggregate?period=7d&metrics=visitors')).toMatchObject({ cache: 'miss', body: { computed: 1 } })
    expect(await get('/api/v1/stats/aggregate?metrics=visitors&period=7d')).toMatchObject({ cache: 'hit', body: { computed: 1 } })
    expect(await get('/api/v1/stats/aggregate?metrics=visitors&period=7d', 'read-key-blog')).toMatchObject({ cache: 'miss', body: { computed: 2 } })
    const closed = '/api/v1/stats/aggregate?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z'
    expect(await get(closed)).toMatchObject({ body: { computed: 3 } })
    advance(6_000)
    expect(await get('/api/v1/stats/aggregate?period=7d&metrics=visitors')).toMatchObject({ cache: 'miss', body: { computed: 4 } })
    expect(await get(closed)).toMatchObject({ cache: 'hit', body: { computed: 3 } })
    advance(60_000)
    expect(await get(closed)).toMatchObject({ cache: 'miss', body: { computed: 5 } })
  })

  it('leaves other routes, bad periods and unauthenticated requests to the handler and auth', async () => {
    const { get } = await build()
    expect((await get('/api/v1/logs/search')).cache).toBeUndefined()
    expect((await get('/api/v1/stats/aggregate?period=7d', 'nobody-key')).status).toBe(401)
    expect((await get('/api/v1/stats/aggregate?period=7d&timezone=Mars/Olympus')).cache).toBeUndefined()
  })

  it('never puts a key or raw parameters in the cache key', () => {
    const key = cacheKey('shop', '/api/v1/stats/breakdown', { property: 'path', filters: '[["is","path",["/secret"]]]' })
    expect(key).toMatch(/^api:shop:\/api\/v1\/stats\/breakdown:[\w-]{27}$/)
    expect(cacheKey('shop', '/p', { a: 1, b: 2 })).toBe(cacheKey('shop', '/p', { b: 2, a: 1 }))
  })
})
