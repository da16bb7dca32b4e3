import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../core/auth/keys.ts'
import { installProblemHandler } from '../core/http/error-handler.ts'
import type { PipelineStatus } from '../processors/status.ts'
import { API_FRAMEWORK_PROBLEMS } from './errors.ts'
import { eventsCountRoute } from './routes/events-count.ts'
import { healthRoutes, type HealthChecks } from './routes/health.ts'
import { pipelineHealthRoute } from './routes/pipeline-health.ts'

export interface ApiOptions {
  readonly keys: KeyRing
  readonly clickhouse: ClickHouseClient
  readonly database: string
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
  await app.register(eventsCountRoute, { keys: options.keys, clickhouse: options.clickhouse, database: options.database })
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
