import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { authenticateReadKey } from '../auth.ts'
import { resolvePeriod } from '../period.ts'
import {
  NOTIFICATION_DIMENSIONS, notificationFailuresQuery, notificationFunnelQuery, notificationLatencyQuery, notificationTotalQuery,
  type NotificationDimension, type NotificationQuery,
} from '../queries/notifications.ts'
import { CommaList, ERROR_RESPONSES, Nullable, parseList, PeriodOut, PeriodProperties, READ_KEY_SECURITY } from '../schemas.ts'
import { describePeriod, scopeOf, type ReadRouteOptions } from './context.ts'

const Values = (dimension: string) => Type.Optional(Type.String({ maxLength: 2000, pattern: '^[^,]+(,[^,]+)*$', description: `Only these ${dimension} values (comma-separated).` }))

const NotificationQueryString = Type.Object({
  ...PeriodProperties,
  group_by: Type.Optional(CommaList(NOTIFICATION_DIMENSIONS, 'Group rows by these dimensions.')),
  channel: Values('channel'),
  provider: Values('provider'),
  template: Values('template'),
}, { additionalProperties: false })
type NotificationQueryString = Static<typeof NotificationQueryString>

const FailuresQueryString = Type.Composite([NotificationQueryString, Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
})], { additionalProperties: false })

const Groups = {
  channel: Type.Optional(Type.String()),
  provider: Type.Optional(Type.String()),
  template: Type.Optional(Type.String()),
}

const Latency = Type.Object({
  count: Type.Integer(),
  p50: Nullable(Type.Number()), p90: Nullable(Type.Number()), p95: Nullable(Type.Number()), p99: Nullable(Type.Number()), max: Nullable(Type.Number()),
}, { description: 'Milliseconds; exact nearest-rank quantiles; null when there is no sample.' })

const ratio = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000)

/** Notifications: funnel, latency quantiles and failures, from notification_lifecycle. */
export async function notificationsRoutes(app: FastifyInstance, options: ReadRouteOptions): Promise<void> {
  const prepare = (request: { query: NotificationQueryString }, projectId: string) => {
    const { query } = request
    const period = resolvePeriod(query, options.now())
    const groupBy = parseList<NotificationDimension>(query.group_by, [])
    const only = Object.fromEntries(NOTIFICATION_DIMENSIONS.map((dimension) => [dimension, parseList<string>(query[dimension], [])]))
    const built: NotificationQuery = { scope: scopeOf(options, projectId, period), groupBy, only }
    return { period, groupBy, built }
  }
  const groupsOf = (row: Record<string, unknown>, groupBy: readonly NotificationDimension[]) => Object.fromEntries(groupBy.map((dimension) => [dimension, String(row[dimension] ?? '')]))

  app.get<{ Querystring: NotificationQueryString }>('/api/v1/notifications/funnel', {
    schema: {
      summary: 'Sent → delivered → opened → clicked', tags: ['notifications'], security: READ_KEY_SECURITY, querystring: NotificationQueryString,
      response: {
        200: Type.Object({
          period: PeriodOut,
          results: Type.Array(Type.Object({
            ...Groups,
            notifications: Type.Integer(), sent: Type.Integer(), delivered: Type.Integer(), opened: Type.Integer(), clicked: Type.Integer(), failed: Type.Integer(),
            delivery_rate: Nullable(Type.Number({ description: 'delivered / sent' })),
            open_rate: Nullable(Type.Number({ description: 'opened / delivered' })),
            click_rate: Nullable(Type.Number({ description: 'clicked / opened' })),
          })),
        }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { period, groupBy, built } = prepare(request, projectId)
    const rows = await options.runner.rows<Record<string, number | string>>(notificationFunnelQuery(built), request.log)
    const results = rows.map((row) => {
      const [sent, delivered, opened, clicked] = ['reached_sent', 'reached_delivered', 'reached_opened', 'reached_clicked'].map((column) => Number(row[column])) as [number, number, number, number]
      return {
        ...groupsOf(row, groupBy),
        notifications: Number(row.notifications), sent, delivered, opened, clicked, failed: Number(row.reached_failed),
        delivery_rate: ratio(delivered, sent), open_rate: ratio(opened, delivered), click_rate: ratio(clicked, opened),
      }
    })
    return { period: describePeriod(period), results: results.filter((row) => row.notifications > 0) }
  })

  app.get<{ Querystring: NotificationQueryString }>('/api/v1/notifications/latency', {
    schema: {
      summary: 'Delivery and open latency quantiles', tags: ['notifications'], security: READ_KEY_SECURITY, querystring: NotificationQueryString,
      response: {
        200: Type.Object({ period: PeriodOut, results: Type.Array(Type.Object({ ...Groups, sent_to_delivered: Latency, delivered_to_opened: Latency })) }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { period, groupBy, built } = prepare(request, projectId)
    const rows = await options.runner.rows<Record<string, unknown>>(notificationLatencyQuery(built), request.log)
    const latency = (row: Record<string, unknown>, prefix: 'delivered' | 'opened') => {
      const count = Number(row[`${prefix}_count`] ?? 0)
      const quantiles = (row[`${prefix}_quantiles`] as number[] | undefined) ?? []
      const at = (index: number) => (count === 0 ? null : Number(quantiles[index]))
      return { count, p50: at(0), p90: at(1), p95: at(2), p99: at(3), max: count === 0 ? null : Number(row[`${prefix}_max`]) }
    }
    const results = rows.map((row) => ({ ...groupsOf(row, groupBy), sent_to_delivered: latency(row, 'delivered'), delivered_to_opened: latency(row, 'opened') }))
    return { period: describePeriod(period), results }
  })

  app.get<{ Querystring: Static<typeof FailuresQueryString> }>('/api/v1/notifications/failures', {
    schema: {
      summary: 'Failed notifications by error code', tags: ['notifications'], security: READ_KEY_SECURITY, querystring: FailuresQueryString,
      response: {
        200: Type.Object({
          period: PeriodOut,
          notifications: Type.Integer({ description: 'All notifications of the period (and filters).' }),
          failed: Type.Integer(),
          results: Type.Array(Type.Object({ ...Groups, error_code: Type.String(), status: Type.String(), failures: Type.Integer(), share: Nullable(Type.Number({ description: 'failures / notifications' })) })),
        }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { period, groupBy, built } = prepare(request, projectId)
    const [rows, totals] = await Promise.all([
      options.runner.rows<Record<string, unknown>>(notificationFailuresQuery(built, request.query.limit ?? 100), request.log),
      options.runner.rows<{ notifications: number; failed: number }>(notificationTotalQuery(built), request.log),
    ])
    const notifications = Number(totals[0]?.notifications ?? 0)
    const results = rows.map((row) => ({
      ...groupsOf(row, groupBy), error_code: String(row.error_code ?? ''), status: String(row.status ?? ''), failures: Number(row.failures), share: ratio(Number(row.failures), notifications),
    }))
    return { period: describePeriod(period), notifications, failed: Number(totals[0]?.failed ?? 0), results }
  })
}
