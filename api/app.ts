import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../core/auth/keys.ts'
import { installProblemHandler } from '../core/http/error-handler.ts'
import { API_FRAMEWORK_PROBLEMS } from './errors.ts'
import { eventsCountRoute } from './routes/events-count.ts'
import { healthRoutes, type HealthChecks } from './routes/health.ts'
import type { PipelineStatus } from '../processors/status.ts'
import { pipelineHealthRoute } from './routes/pipeline-health.ts'

export interface ApiOptions {
  readonly keys: KeyRing
  readonly clickhouse: ClickHouseClient
  readonly database: string
  readonly checks: HealthChecks
  /** Present where this process can see the bus (embedded mode, or an api with Kafka access). */
  readonly pipelineStatus?: () => Promise<PipelineStatus>
}

/** The query api as a fastify plugin; `start` mounts it beside ingest in one server. */
export async function apiPlugin(app: FastifyInstance, options: ApiOptions): Promise<void> {
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS, { notFound: false })
  await app.register(healthRoutes, { checks: options.checks })
  await app.register(eventsCountRoute, { keys: options.keys, clickhouse: options.clickhouse, database: options.database })
  if (options.pipelineStatus) await app.register(pipelineHealthRoute, { keys: options.keys, status: options.pipelineStatus })
}
