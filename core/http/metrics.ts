import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ProcessMetrics } from '../metrics/index.ts'

export const METRICS_PATH = '/metrics'

/**
 * GET /metrics in the Prometheus text format. No authentication, as Prometheus expects: the
 * figures carry no project data (labels are bounded sets), but they do describe the deployment,
 * so the port should be reachable from the monitoring network only (docs/metrics.md).
 */
export function metricsRoute(app: FastifyInstance, metrics: Pick<ProcessMetrics, 'render'>): void {
  app.get(METRICS_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const { contentType, body } = await metrics.render()
    return reply.type(contentType).send(body)
  })
}

/**
 * The route pattern a request matched (`/api/v1/stats/:kind`), never its URL: a label whose values
 * come from clients would grow a series per path anyone cares to send.
 */
export function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched'
}
