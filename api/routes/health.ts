import type { FastifyInstance } from 'fastify'

export interface HealthChecks {
  /** Each check resolves to true when that dependency can serve; names appear in /readyz. */
  readonly [name: string]: () => Promise<boolean>
}

export interface HealthRouteOptions {
  /** What the process cannot serve without: any false makes /readyz 503. */
  readonly checks: HealthChecks
  /** Dependencies reported in /readyz without deciding it (see cli/pipeline.ts for which). */
  readonly reported?: HealthChecks
}

/**
 * /healthz says the process is alive (for restarts); /readyz says it can serve traffic now (for
 * load balancers): what it needs answers. Reported checks are listed beside them without turning
 * the answer to 503.
 */
export async function healthRoutes(app: FastifyInstance, options: HealthRouteOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const [required, reported] = await Promise.all([run(options.checks), run(options.reported ?? {})])
    const ready = required.every(([, ok]) => ok)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries([...required, ...reported]) })
  })
}

function run(checks: HealthChecks): Promise<Array<readonly [string, boolean]>> {
  return Promise.all(Object.entries(checks).map(async ([name, check]) => {
    try {
      return [name, await check()] as const
    } catch {
      return [name, false] as const
    }
  }))
}
