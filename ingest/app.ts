import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../core/auth/keys.ts'
import type { Config } from '../core/config/index.ts'
import { installProblemHandler } from '../core/http/error-handler.ts'
import { routeLabel } from '../core/http/metrics.ts'
import { problemCodeOf } from '../core/http/problem.ts'
import { createHttpServer } from '../core/http/server.ts'
import type { Logger } from '../core/logging/logger.ts'
import type { EddyMetrics } from '../core/metrics/index.ts'
import { installBodyParsers } from './body.ts'
import { FRAMEWORK_PROBLEMS } from './errors.ts'
import type { IngestDependencies } from './dependencies.ts'
import type { TimeBounds } from './normalise/time.ts'
import { UserAgentParser } from './normalise/user-agent.ts'
import type { EventPublisher } from './publisher.ts'
import { ingestOpenApiRoute } from './openapi.ts'
import { logRoutes } from './routes/logs.ts'
import { notificationRoutes } from './routes/notifications.ts'
import { segmentRoutes } from './routes/segment.ts'
import { snippetPlugin } from './snippet/plugin.ts'
import { elasticsearchRoutes } from './shippers/elasticsearch/plugin.ts'
import { lokiRoutes } from './shippers/loki/plugin.ts'
import { otlpRoutes } from './shippers/otlp/plugin.ts'
import type { WebhookOptions } from './webhooks/options.ts'
import { webhookRoutes } from './webhooks/plugin.ts'

export type IngestMetrics = Pick<EddyMetrics, 'ingestRequests' | 'ingestRejections' | 'webhookRejections'>

export interface IngestOptions {
  readonly config: Pick<Config, 'ingest' | 'retentionDays'>
  readonly keys: KeyRing
  readonly publisher: EventPublisher
  readonly logger: Logger
  readonly clock?: () => number
  /** Provider webhook secrets per project and the URL Twilio signs; without them every webhook is refused. */
  readonly webhooks?: WebhookOptions
  /** Requests by route and status, refusals by reason (webhooks also by provider); absent in tests that do not look. */
  readonly metrics?: IngestMetrics
}

/** The reason label of a refused request: its problem code without the service prefix (`rate_limited`). */
export function rejectionReason(code: string): string {
  return code.replace(/^INGEST_/, '').toLowerCase()
}

/**
 * Lines refused inside a log body that was accepted in part. A reason of their own, because they
 * count lines where every other reason counts requests.
 */
export const REFUSED_LINE_REASON = 'invalid_line'

/** The ingest routes as a fastify plugin, so `start` can mount them beside the api in one server. */
export async function ingestPlugin(app: FastifyInstance, options: IngestOptions): Promise<void> {
  const metrics = options.metrics
  const dependencies: IngestDependencies = {
    config: options.config,
    keys: options.keys,
    publisher: options.publisher,
    clock: options.clock ?? Date.now,
    timeBounds: { maxFutureMs: options.config.ingest.maxFutureMs, retentionMs: options.config.retentionDays * 86_400_000 },
    userAgents: new UserAgentParser(),
    refusedLines: metrics ? (count) => metrics.ingestRejections.inc({ reason: REFUSED_LINE_REASON }, count) : undefined,
  }
  if (metrics) {
    // onResponse sees every answer of this scope, errors from hooks and parsers included; the
    // problem code was noted by whichever handler sent the problem.
    app.addHook('onResponse', async (request, reply) => {
      metrics.ingestRequests.inc({ route: routeLabel(request), status: String(reply.statusCode) })
      const code = problemCodeOf(reply)
      if (code !== undefined) metrics.ingestRejections.inc({ reason: rejectionReason(code) })
    })
  }
  installBodyParsers(app, options.config.ingest.maxNestingDepth)
  installProblemHandler(app, FRAMEWORK_PROBLEMS, { notFound: false })
  // The OpenAPI document of the routes below (ingest/openapi.ts): no write key needed.
  ingestOpenApiRoute(app, { config: options.config, now: dependencies.clock() })
  await app.register(segmentRoutes, dependencies)
  await app.register(snippetPlugin, dependencies)
  await app.register(logRoutes, dependencies)
  await app.register(notificationRoutes, dependencies)
  await app.register(otlpRoutes, dependencies)
  await app.register(lokiRoutes, dependencies)
  await app.register(elasticsearchRoutes, dependencies)
  await app.register(webhookRoutes, { projects: {}, ...options.webhooks, rejections: metrics?.webhookRejections, dependencies })
}

/** A standalone ingest server (the `eddy ingest` command and tests). */
export async function buildIngestApp(options: IngestOptions): Promise<FastifyInstance> {
  const app = createHttpServer({ logger: options.logger.child({ component: 'ingest' }), bodyLimit: options.config.ingest.maxRequestBytes })
  installProblemHandler(app, FRAMEWORK_PROBLEMS)
  await app.register(async (scope) => ingestPlugin(scope, options))
  return app
}
