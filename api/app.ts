import type { ClickHouseClient } from '@clickhouse/client'
import { ClickHouseSearchStore } from '../core/search/clickhouse/store.ts'
import type { SearchStore } from '../core/search/port.ts'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { KeyRing } from '../core/auth/keys.ts'
import type { QueryCache } from '../core/cache/port.ts'
import { installProblemHandler } from '../core/http/error-handler.ts'
import { routeLabel } from '../core/http/metrics.ts'
import type { LiveHub } from '../core/live/port.ts'
import { installAuthThrottle, type AuthFailureThrottle } from '../core/http/auth-throttle.ts'
import type { ProcessMetrics } from '../core/metrics/index.ts'
import type { RateLimiter } from '../core/rate-limit/port.ts'
import type { PipelineStatus, ProjectHealth } from '../core/pipeline-status.ts'
import { dashboardRoutes } from './dashboard/plugin.ts'
import { API_FRAMEWORK_PROBLEMS, API_PROBLEMS } from './errors.ts'
import { liveRoutes } from './live/route.ts'
import { LiveService, type LiveServiceOptions } from './live/service.ts'
import { registerOpenApi } from './openapi.ts'
import { activeVisitorsQuery } from './queries/realtime.ts'
import { installQueryCache, type QueryCacheTtls } from './query-cache.ts'
import { API_TIER, installApiRateLimit } from './rate-limit.ts'
import { scopeOf, type ReadRouteOptions } from './routes/context.ts'
import { eventsCountRoute } from './routes/events-count.ts'
import { funnelRoute } from './routes/funnel.ts'
import { healthRoutes, type HealthChecks } from './routes/health.ts'
import { logsRoutes } from './routes/logs.ts'
import { notificationsRoutes } from './routes/notifications.ts'
import { pipelineHealthRoute } from './routes/pipeline-health.ts'
import { pipelineReprocessRoute } from './routes/pipeline-reprocess.ts'
import type { OperatorRuns } from '../processors/reprocess/operator-runs.ts'
import { realtimeRoute } from './routes/realtime.ts'
import { searchRoutes } from './routes/search.ts'
import { statsRoutes } from './routes/stats.ts'
import { refuseUnknownQueryParameters } from './strict-query.ts'
import { DEFAULT_QUERY_LIMITS, QueryRunner, type QueryLimits } from './store.ts'

export interface ApiOptions {
  readonly keys: KeyRing
  readonly clickhouse: ClickHouseClient
  readonly database: string
  /** max_execution_time and max_result_rows of every query (default 10 s, 100,000 rows). */
  readonly queryLimits?: QueryLimits
  /** The processors' active-visitor window, for /stats/realtime (default 5 minutes). */
  readonly activeWindowMs?: number
  /** Serve the OpenAPI UI at /docs (default true); /openapi.json is always served. */
  readonly docsUi?: boolean
  /** The clock relative periods are resolved against (tests pin it). */
  readonly now?: () => number
  /** Charges failed authentications to the client's address and refuses it once they pass the limit. */
  readonly authThrottle?: AuthFailureThrottle
  /** Per read key token buckets (tier `api`); without one, or without that tier, nothing is limited. */
  readonly rateLimiter?: RateLimiter
  /** Caches realtime and the web stats; without it every request queries ClickHouse. */
  readonly cache?: QueryCacheTtls & { readonly cache: QueryCache }
  /** Serves /api/v1/live from this hub; without it the route does not exist. */
  readonly live?: Omit<LiveServiceOptions, 'activeVisitors' | 'logger'>
  /** Serve the built-in dashboard at / (default true when live is given). */
  readonly dashboard?: boolean
  /** Log and notification search: Elasticsearch when configured; by default ClickHouse's raw tables. */
  readonly search?: SearchStore
  /** Request durations by route, and WebSocket clients read at each scrape; absent in tests that do not look. */
  readonly metrics?: Pick<ProcessMetrics, 'metrics' | 'onScrape'>
}

export interface HealthOptions {
  readonly keys: KeyRing
  readonly checks: HealthChecks
  /** Listed in /readyz without deciding it. */
  readonly reported?: HealthChecks
  /** Present where this process can see the bus (embedded mode, ingest or processors on Kafka). */
  readonly pipelineStatus?: () => Promise<PipelineStatus>
  /** What a project's read key sees of the health; where absent, only that its project exists. */
  readonly projectHealth?: (projectId: string) => Promise<ProjectHealth>
  readonly authThrottle?: AuthFailureThrottle
  /** Present where this process runs the jobs: reprocess runs an operator starts over HTTP. */
  readonly reprocessRuns?: OperatorRuns
}

/** The query api as a fastify plugin; `start` mounts it beside ingest in one server. */
export async function apiPlugin(app: FastifyInstance, options: ApiOptions): Promise<void> {
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS, { notFound: false })
  const metrics = options.metrics
  if (metrics) {
    // This scope holds the api routes only: /metrics, /healthz and ingest are not timed here.
    const durations = metrics.metrics.apiRequestDuration
    app.addHook('onResponse', async (request, reply) => {
      durations.observe({ route: routeLabel(request), status: String(reply.statusCode) }, reply.elapsedTime / 1_000)
    })
  }
  // Before the rate limit: a refused address is answered without charging any key's budget.
  if (options.authThrottle) throttleApiAuth(app, options.authThrottle)
  refuseUnknownQueryParameters(app)
  await registerOpenApi(app, { docsUi: options.docsUi ?? true })
  const routes: ReadRouteOptions = {
    keys: options.keys,
    runner: new QueryRunner(options.clickhouse, options.queryLimits ?? DEFAULT_QUERY_LIMITS),
    database: options.database,
    now: options.now ?? Date.now,
  }
  const limiter = options.rateLimiter
  if (limiter?.tiers[API_TIER]) installApiRateLimit(app, limiter, options.keys)
  const cache = options.cache
  if (cache && (cache.openTtlMs > 0 || cache.closedTtlMs > 0)) installQueryCache(app, { ...cache, keys: options.keys, now: routes.now })
  const activeWindowMs = options.activeWindowMs ?? 5 * 60_000
  await app.register(eventsCountRoute, { keys: options.keys, runner: routes.runner, database: options.database })
  await app.register(statsRoutes, routes)
  await app.register(realtimeRoute, { ...routes, activeWindowMs })
  await app.register(funnelRoute, routes)
  await app.register(logsRoutes, routes)
  await app.register(notificationsRoutes, routes)
  const search = options.search ?? new ClickHouseSearchStore((built) => routes.runner.rows(built, app.log), options.database)
  await app.register(searchRoutes, { ...routes, search })
  if (options.live) {
    const service = new LiveService({ ...options.live, activeVisitors: liveVisitors(routes, activeWindowMs, cache?.cache, app.log), logger: app.log })
    app.addHook('onClose', () => service.close())
    if (metrics) {
      const stop = metrics.onScrape(() => metrics.metrics.liveClients.set(service.stats().clients))
      app.addHook('onClose', async () => stop())
    }
    await app.register(liveRoutes, { keys: options.keys, service, ...(options.authThrottle ? { authThrottle: options.authThrottle } : {}) })
  }
  if (options.dashboard ?? options.live !== undefined) await app.register(dashboardRoutes)
}

/** Active visitors for the live feed: the realtime route's query, shared for a second across instances. */
function liveVisitors(routes: ReadRouteOptions, activeWindowMs: number, cache: QueryCache | undefined, log: FastifyBaseLogger): (projectId: string) => Promise<number> {
  return async (projectId) => {
    const compute = async () => {
      const windowEnd = Math.floor(routes.now() / 60_000) * 60_000 + 60_000
      const scope = scopeOf(routes, projectId, { fromMs: windowEnd - activeWindowMs, toMs: windowEnd, timezone: 'UTC' })
      const rows = await routes.runner.rows<{ visitors: number | null }>(activeVisitorsQuery(scope, windowEnd), log)
      return Number(rows[0]?.visitors ?? 0)
    }
    return cache ? cache.getOrCompute(`live:${projectId}:visitors`, 1_000, compute) : compute()
  }
}

/**
 * Health on every Eddy process, whatever parts it plays: /healthz, /readyz and, where the bus is
 * in reach, /api/v1/pipeline/health. A processors-only process serves just these.
 */
export async function healthPlugin(app: FastifyInstance, options: HealthOptions): Promise<void> {
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS, { notFound: false })
  if (options.authThrottle) throttleApiAuth(app, options.authThrottle)
  await app.register(healthRoutes, { checks: options.checks, reported: options.reported })
  if (options.pipelineStatus) await app.register(pipelineHealthRoute, { keys: options.keys, status: options.pipelineStatus, ...(options.projectHealth ? { projectHealth: options.projectHealth } : {}) })
  if (options.reprocessRuns) await app.register(pipelineReprocessRoute, { keys: options.keys, runs: options.reprocessRuns })
}

/** Read and operator keys are secrets: a refused address is refused whatever key it sends. */
function throttleApiAuth(app: FastifyInstance, throttle: AuthFailureThrottle): void {
  installAuthThrottle(app, {
    throttle,
    problem: API_PROBLEMS.API_AUTH_THROTTLED,
    presentsCredentials: (request) => request.headers.authorization !== undefined || typeof (request.query as Record<string, unknown> | undefined)?.key === 'string',
  })
}
