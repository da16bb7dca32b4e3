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
          active: Type.Object({
            visitors: Type.Integer({ description: 'Distinct visitors with an event between from and to: the active window (the last few minutes).' }),
            from: Type.String(),
            to: Type.String(),
          }, { description: 'Visitors active now, over the active window.' }),
          recent: Type.Object({
            pageviews: Type.Integer({ description: 'Pageviews between from and to: the whole `minutes` range.' }),
            from: Type.String(),
            to: Type.String(),
          }, { description: 'Pageviews over the last `minutes` minutes, the current one included.' }),
          minutes: Type.Array(Type.Object({ date: Type.String(), pageviews: Type.Integer(), visitors: Type.Integer() })),
          visitors: Type.Integer({ deprecated: true, description: 'Deprecated, removed in the next release: active.visitors.' }),
          window: Type.Object({ from: Type.String(), to: Type.String() }, { deprecated: true, description: 'Deprecated, removed in the next release: active.from and active.to.' }),
          pageviews: Type.Integer({ deprecated: true, description: 'Deprecated, removed in the next release: recent.pageviews (over the whole minutes range, not the active window).' }),
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
    const visitors = Number(active[0]?.visitors ?? 0)
    const activeWindow = { from: formatLocal(windowEnd - options.activeWindowMs, 'UTC'), to: formatLocal(windowEnd, 'UTC') }
    const pageviews = series.reduce((sum, minute) => sum + minute.pageviews, 0)
    return {
      active: { visitors, ...activeWindow },
      recent: { pageviews, from: formatLocal(range.fromMs, 'UTC'), to: formatLocal(range.toMs, 'UTC') },
      minutes: series,
      // The names of the first release, which read as if the pageviews were the active window's.
      visitors,
      window: activeWindow,
      pageviews,
    }
  })
}
