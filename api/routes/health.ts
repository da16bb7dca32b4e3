import type { FastifyInstance } from 'fastify'

export interface HealthChecks {
  /** Each check resolves to true when that dependency can serve; names appear in /readyz. */
  readonly [name: string]: () => Promise<boolean>
}

/**
 * /healthz says the process is alive (for restarts); /readyz says it can serve traffic now (for
 * load balancers): the bus accepts writes and the store answers.
 */
export async function healthRoutes(app: FastifyInstance, options: { checks: HealthChecks }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const entries = await Promise.all(Object.entries(options.checks).map(async ([name, check]) => {
      try {
        return [name, await check()] as const
      } catch {
        return [name, false] as const
      }
    }))
    const checks = Object.fromEntries(entries)
    const ready = entries.every(([, ok]) => ok)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
  })
}
