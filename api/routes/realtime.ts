import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { authenticateReadKey } from '../auth.ts'
import { activeVisitorsQuery, pageviewsPerMinuteQuery } from '../queries/realtime.ts'
import { ERROR_RESPONSES, READ_KEY_SECURITY } from '../schemas.ts'
import { bucketStarts, formatLocal } from '../zoned-time.ts'
import { scopeOf, type ReadRouteOptions } from './context.ts'

const MINUTE = 60_000

const RealtimeQuery = Type.Object({
  minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 60, default: 30, description: 'How many minutes of pageviews, the current one included.' })),
}, { additionalProperties: false })

export interface RealtimeOptions extends ReadRouteOptions {
  /** Length of the processors' active-visitor window (their activeWindowMs). */
  readonly activeWindowMs: number
}

/** Visitors active now and pageviews per minute, from aggregates the processors keep current. */
export async function realtimeRoute(app: FastifyInstance, options: RealtimeOptions): Promise<void> {
  app.get<{ Querystring: Static<typeof RealtimeQuery> }>('/api/v1/stats/realtime', {
    schema: {
      summary: 'Active visitors now and pageviews in the last minutes', tags: ['web'], security: READ_KEY_SECURITY, querystring: RealtimeQuery,
      response: {
        200: Type.Object({
          visitors: Type.Integer({ description: 'Distinct visitors with an event in the active window (the last few minutes).' }),
          window: Type.Object({ from: Type.String(), to: Type.String() }),
          pageviews: Type.Integer({ description: 'Pageviews over the minutes below.' }),
          minutes: Type.Array(Type.Object({ date: Type.String(), pageviews: Type.Integer(), visitors: Type.Integer() })),
        }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const minutes = request.query.minutes ?? 30
    // The window containing now ends at the next minute boundary (the hopping windows slide by a minute).
    const windowEnd = Math.floor(options.now() / MINUTE) * MINUTE + MINUTE
    const range = { fromMs: windowEnd - minutes * MINUTE, toMs: windowEnd, timezone: 'UTC' }
    const scope = scopeOf(options, projectId, range)
    const [active, perMinute] = await Promise.all([
      options.runner.rows<{ visitors: number | null }>(activeVisitorsQuery(scope, windowEnd), request.log),
      options.runner.rows<{ bucket: number; pageviews: number; visitors: number }>(pageviewsPerMinuteQuery(scope), request.log),
    ])
    const byMinute = new Map(perMinute.map((row) => [Number(row.bucket) * 1000, row]))
    const series = bucketStarts(range.fromMs, range.toMs, 'minute', 'UTC').map((start) => {
      const row = byMinute.get(start)
      return { date: formatLocal(start, 'UTC'), pageviews: Number(row?.pageviews ?? 0), visitors: Number(row?.visitors ?? 0) }
    })
    return {
      visitors: Number(active[0]?.visitors ?? 0),
      window: { from: formatLocal(windowEnd - options.activeWindowMs, 'UTC'), to: formatLocal(windowEnd, 'UTC') },
      pageviews: series.reduce((sum, minute) => sum + minute.pageviews, 0),
      minutes: series,
    }
  })
}
