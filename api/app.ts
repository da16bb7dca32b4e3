import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../core/auth/keys.ts'
import { installProblemHandler } from '../core/http/error-handler.ts'
import type { PipelineStatus } from '../processors/status.ts'
import { API_FRAMEWORK_PROBLEMS } from './errors.ts'
import { registerOpenApi } from './openapi.ts'
import type { ReadRouteOptions } from './routes/context.ts'
import { eventsCountRoute } from './routes/events-count.ts'
import { funnelRoute } from './routes/funnel.ts'
import { healthRoutes, type HealthChecks } from './routes/health.ts'
import { logsRoutes } from './routes/logs.ts'
import { notificationsRoutes } from './routes/notifications.ts'
import { pipelineHealthRoute } from './routes/pipeline-health.ts'
import { realtimeRoute } from './routes/realtime.ts'
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
}

export interface HealthOptions {
  readonly keys: KeyRing
  readonly checks: HealthChecks
  /** Present where this process can see the bus (embedded mode, ingest or processors on Kafka). */
  readonly pipelineStatus?: () => Promise<PipelineStatus>
}

/** The query api as a fastify plugin; `start` mounts it beside ingest in one server. */
export async function apiPlugin(app: FastifyInstance, options: ApiOptions): Promise<void> {
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS, { notFound: false })
  refuseUnknownQueryParameters(app)
  await registerOpenApi(app, { docsUi: options.docsUi ?? true })
  const routes: ReadRouteOptions = {
    keys: options.keys,
    runner: new QueryRunner(options.clickhouse, options.queryLimits ?? DEFAULT_QUERY_LIMITS),
    database: options.database,
    now: options.now ?? Date.now,
  }
  await app.register(eventsCountRoute, { keys: options.keys, clickhouse: options.clickhouse, database: options.database })
  await app.register(statsRoutes, routes)
  await app.register(realtimeRoute, { ...routes, activeWindowMs: options.activeWindowMs ?? 5 * 60_000 })
  await app.register(funnelRoute, routes)
  await app.register(logsRoutes, routes)
  await app.register(notificationsRoutes, routes)
}

/**
 * Health on every Eddy process, whatever parts it plays: /healthz, /readyz and, where the bus is
 * in reach, /api/v1/pipeline/health. A processors-only process serves just these.
 */
export async function healthPlugin(app: FastifyInstance, options: HealthOptions): Promise<void> {
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS, { notFound: false })
  await app.register(healthRoutes, { checks: options.checks })
  if (options.pipelineStatus) await app.register(pipelineHealthRoute, { keys: options.keys, status: options.pipelineStatus })
}
