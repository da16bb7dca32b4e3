import { createHash } from 'node:crypto'
import type { FastifyInstance, RouteHandlerMethod } from 'fastify'
import type { KeyRing } from '../core/auth/keys.ts'
import type { QueryCache } from '../core/cache/port.ts'
import { authenticateReadKey } from './auth.ts'
import { resolvePeriod, type PeriodQuery } from './period.ts'

export interface QueryCacheTtls {
  /** /stats/realtime and periods that include now: short, so live numbers stay live. */
  readonly openTtlMs: number
  /** Periods that ended: only late events (minutes, by allowed lateness) still change them. */
  readonly closedTtlMs: number
}

export interface ApiCacheOptions extends QueryCacheTtls {
  readonly cache: QueryCache
  readonly keys: KeyRing
  readonly now: () => number
}

type Ttl = (query: Record<string, unknown>, options: ApiCacheOptions) => number

const periodTtl: Ttl = (query, options) => {
  const now = options.now()
  const period = resolvePeriod(query as PeriodQuery, now)
  return period.toMs <= now ? options.closedTtlMs : options.openTtlMs
}

/** The endpoints worth caching: the dashboard's and every embedded chart's polling targets. */
const CACHED_ROUTES: Readonly<Record<string, Ttl>> = {
  '/api/v1/stats/realtime': (_query, options) => options.openTtlMs,
  '/api/v1/stats/aggregate': periodTtl,
  '/api/v1/stats/timeseries': periodTtl,
  '/api/v1/stats/breakdown': periodTtl,
}

/**
 * Wraps the handlers of CACHED_ROUTES in QueryCache.getOrCompute, keyed by project, path and the
 * validated query (defaults applied, keys sorted), so equal questions share one answer and one
 * ClickHouse query in flight. Relative periods ("7d") are keyed as written: the answer is at most
 * one TTL old. `x-eddy-cache: hit|miss` tells which it was. Must be installed before the routes.
 */
export function installQueryCache(app: FastifyInstance, options: ApiCacheOptions): void {
  app.addHook('onRoute', (route) => {
    const ttlOf = CACHED_ROUTES[route.url]
    if (ttlOf === undefined || route.method !== 'GET') return
    const handler = route.handler
    const cached: RouteHandlerMethod = async function (this: FastifyInstance, request, reply) {
      const query = (request.query ?? {}) as Record<string, unknown>
      let ttl = 0
      try {
        ttl = ttlOf(query, options)
      } catch {
        // An invalid period: the handler answers it with the proper 400.
      }
      if (ttl <= 0) return handler.call(this, request, reply)
      const projectId = authenticateReadKey(request, options.keys)
      let computed = false
      const value = await options.cache.getOrCompute(cacheKey(projectId, route.url, query), ttl, async () => {
        computed = true
        return handler.call(this, request, reply)
      })
      void reply.header('x-eddy-cache', computed ? 'miss' : 'hit')
      return value
    }
    route.handler = cached
  })
}

export function cacheKey(projectId: string, path: string, query: Record<string, unknown>): string {
  const normalised = JSON.stringify(Object.keys(query).sort().map((name) => [name, query[name]]))
  return `api:${projectId}:${path}:${createHash('sha256').update(normalised).digest('base64url').slice(0, 27)}`
}
