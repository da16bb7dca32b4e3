import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { FastifyInstance } from 'fastify'
import { authenticateReadKey } from '../auth.ts'
import { invalidInput } from '../errors.ts'
import { parseFilters } from '../filters.ts'
import { resolvePeriod } from '../period.ts'
import { funnelQuery, visitorsPerStep, type FunnelStep } from '../queries/funnel.ts'
import { ERROR_RESPONSES, FiltersProperty, Nullable, PeriodOut, PeriodProperties, READ_KEY_SECURITY } from '../schemas.ts'
import { describePeriod, scopeOf, type ReadRouteOptions } from './context.ts'

const Step = Type.Union([
  Type.Object({ path: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
  Type.Object({ event: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
])
const Steps = TypeCompiler.Compile(Type.Array(Step, { minItems: 2, maxItems: 8 }))

const FunnelQuery = Type.Object({
  ...PeriodProperties,
  steps: Type.String({
    maxLength: 10_000,
    // The shape only: a JSON text in a query parameter is beyond what a schema checks, so the
    // steps themselves are validated after parsing and a 400 names the step that is wrong.
    pattern: '^\\s*\\[[\\s\\S]*\\]\\s*$',
    examples: ['[{"path":"/"},{"path":"/pricing"},{"event":"Signed Up"}]'],
    description: 'A JSON array of 2 to 8 steps, each {"path":"/pricing"} (a pageview at exactly this path) or {"event":"Signed Up"} (a custom event), in the order a visitor must reach them; e.g. [{"path":"/"},{"event":"Signed Up"}].',
  }),
  window: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400, default: 1800, description: 'Seconds from the first step within which the others must follow.' })),
  filters: FiltersProperty,
}, { additionalProperties: false })

/** Conversion through an ordered list of steps, per visitor, over raw events. */
export async function funnelRoute(app: FastifyInstance, options: ReadRouteOptions): Promise<void> {
  app.get<{ Querystring: Static<typeof FunnelQuery> }>('/api/v1/stats/funnel', {
    schema: {
      summary: 'Visitors through ordered steps', tags: ['web'], security: READ_KEY_SECURITY, querystring: FunnelQuery,
      response: {
        200: Type.Object({
          period: PeriodOut,
          window: Type.Integer(),
          steps: Type.Array(Type.Object({
            step: Type.Object({ path: Type.Optional(Type.String()), event: Type.Optional(Type.String()) }),
            visitors: Type.Integer(),
            conversion_rate: Nullable(Type.Number({ description: 'Percent of the first step’s visitors.' })),
            dropoff: Type.Integer({ description: 'Visitors of the previous step who did not reach this one.' }),
          })),
        }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { query } = request
    const steps = parseSteps(query.steps)
    const period = resolvePeriod(query, options.now())
    const window = query.window ?? 1800
    const built = funnelQuery(scopeOf(options, projectId, period), steps, window * 1000, parseFilters(query.filters))
    const levels = await options.runner.rows<{ level: number; visitors: number }>(built, request.log)
    const visitors = visitorsPerStep(levels, steps.length)
    return {
      period: describePeriod(period),
      window,
      steps: steps.map((step, index) => ({
        step,
        visitors: visitors[index]!,
        conversion_rate: visitors[0] ? Math.round((visitors[index]! / visitors[0]) * 1000) / 10 : null,
        dropoff: index === 0 ? 0 : visitors[index - 1]! - visitors[index]!,
      })),
    }
  })
}

function parseSteps(text: string): FunnelStep[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw invalidInput('querystring/steps', 'must be a JSON array such as [{"path":"/"},{"event":"Signed Up"}]')
  }
  const first = Steps.Errors(parsed).First()
  if (first) throw invalidInput(`querystring/steps${first.path}`, first.message)
  return parsed as FunnelStep[]
}
