import type { FastifyInstance } from 'fastify'
import { apiPlugin, healthPlugin, type ApiOptions, type HealthOptions } from '../api/app.ts'
import { API_FRAMEWORK_PROBLEMS } from '../api/errors.ts'
import { installProblemHandler } from '../core/http/error-handler.ts'
import { metricsRoute } from '../core/http/metrics.ts'
import { createHttpServer } from '../core/http/server.ts'
import type { Logger } from '../core/logging/logger.ts'
import type { ProcessMetrics } from '../core/metrics/index.ts'
import type { RateLimiter } from '../core/rate-limit/port.ts'
import { ingestPlugin, type IngestOptions } from '../ingest/app.ts'
import { throttleIngestAuth } from '../ingest/auth-throttle.ts'
import { INGEST_TIER, installIngestRateLimit } from '../ingest/rate-limit.ts'
import type { AuthFailureThrottle } from '../core/http/auth-throttle.ts'

export interface ServerParts {
  readonly logger: Logger
  readonly bodyLimit: number
  readonly health: HealthOptions
  /** Served at GET /metrics, on every process whatever parts it plays. */
  readonly metrics?: Pick<ProcessMetrics, 'render'>
  readonly ingest?: IngestOptions
  /** Limits ingest per write key when it has the `ingest` tier (the api takes its limiter in ApiOptions). */
  readonly ingestRateLimiter?: RateLimiter
  /** Failed authentications of ingest charged to the client's address (the api and health take it in their options). */
  readonly authThrottle?: AuthFailureThrottle
  readonly api?: ApiOptions
}

/** One HTTP server carrying health, and ingest, the api, or both (`eddy start`); each in its own scope. */
export async function buildServer(parts: ServerParts): Promise<FastifyInstance> {
  const app = createHttpServer({ logger: parts.logger, bodyLimit: parts.bodyLimit })
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS)
  const health = parts.health
  await app.register(async (scope) => healthPlugin(scope, health))
  // At the root, outside the ingest and api scopes, so scrapes count in neither's request metrics.
  if (parts.metrics) metricsRoute(app, parts.metrics)
  if (parts.ingest) {
    const ingest = parts.ingest
    const limiter = parts.ingestRateLimiter
    const throttle = parts.authThrottle
    await app.register(async (scope) => {
      if (throttle) throttleIngestAuth(scope, throttle, ingest.keys)
      if (limiter?.tiers[INGEST_TIER]) installIngestRateLimit(scope, limiter, ingest.keys)
      await ingestPlugin(scope, ingest)
    })
  }
  if (parts.api) {
    const api = parts.api
    await app.register(async (scope) => apiPlugin(scope, api))
  }
  return app
}
