import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { authenticateReadKey } from '../auth.ts'
import { decodeCursor, encodeCursor } from '../cursor.ts'
import { DIMENSION_PATTERN, parseFilters, type WebDimension } from '../filters.ts'
import { chooseInterval, isWholeMinutes, previousPeriod, resolvePeriod, type Period } from '../period.ts'
import { metricsOf, WEB_METRICS, type MetricRow, type WebMetric } from '../queries/web.ts'
import { CommaList, CursorProperties, ERROR_RESPONSES, FiltersProperty, Nullable, parseList, PeriodOut, PeriodProperties, READ_KEY_SECURITY, StringEnum } from '../schemas.ts'
import { aggregatePlan, breakdownPlan, timeseriesPlan, type Plan } from '../web-plan.ts'
import { bucketStarts, formatLocal } from '../zoned-time.ts'
import { describePeriod, scopeOf, type ReadRouteOptions } from './context.ts'

const DEFAULT_METRICS: readonly WebMetric[] = ['visitors', 'pageviews', 'sessions', 'bounce_rate', 'visit_duration', 'views_per_visit']
const Metrics = Type.Optional(CommaList(WEB_METRICS, 'Metrics to compute.'))
const MetricValues = Type.Object(Object.fromEntries(WEB_METRICS.map((metric) => [metric, Type.Optional(Nullable(Type.Number()))])))

const AggregateQuery = Type.Object({
  ...PeriodProperties,
  filters: FiltersProperty,
  metrics: Metrics,
  compare: Type.Optional(StringEnum(['previous_period'], { description: 'Also compute the period of equal length just before.' })),
}, { additionalProperties: false })

const MetricResult = Type.Object({
  value: Nullable(Type.Number()),
  previous: Type.Optional(Nullable(Type.Number())),
  change: Type.Optional(Nullable(Type.Number({ description: 'Percent change; for bounce_rate the difference in points.' }))),
})

const TimeseriesQuery = Type.Object({
  ...PeriodProperties,
  filters: FiltersProperty,
  metrics: Type.Optional(CommaList(WEB_METRICS, 'Metrics per bucket (default visitors,pageviews).')),
  interval: Type.Optional(StringEnum(['minute', 'hour', 'day'], { description: 'Bucket size; default minute up to 3 h, hour up to 2 days, day beyond.' })),
  compare: Type.Optional(StringEnum(['previous_period'])),
}, { additionalProperties: false })

const Bucket = Type.Composite([Type.Object({ date: Type.String({ description: 'Bucket start, ISO 8601 in the time zone.' }) }), MetricValues])

const BreakdownQuery = Type.Object({
  ...PeriodProperties,
  property: Type.String({ pattern: DIMENSION_PATTERN, description: 'Dimension to break down by: path, entry_page, exit_page, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, os, device, country, event, or property:<key>.' }),
  filters: FiltersProperty,
  metrics: Type.Optional(CommaList(WEB_METRICS, 'Metrics per value (default visitors,pageviews); rows are sorted by the first, descending.')),
  ...CursorProperties,
}, { additionalProperties: false })

const BreakdownRow = Type.Composite([Type.Object({ value: Type.String({ description: 'The dimension value; empty means none (a direct visit, no campaign…).' }) }), MetricValues])

/** Web analytics: aggregate, timeseries and breakdown, modelled on Plausible's Stats API. */
export async function statsRoutes(app: FastifyInstance, options: ReadRouteOptions): Promise<void> {
  const run = async (plan: Plan, projectId: string, period: Period, log: FastifyInstance['log']) => {
    const results = await Promise.all(plan.parts.map((part) => options.runner.rows<MetricRow>(part.build(scopeOf(options, projectId, period)), log)))
    return plan.parts.map((part, index) => ({ part, rows: results[index]! }))
  }

  app.get<{ Querystring: Static<typeof AggregateQuery> }>('/api/v1/stats/aggregate', {
    schema: {
      summary: 'Totals over a period', tags: ['web'], security: READ_KEY_SECURITY, querystring: AggregateQuery,
      response: { 200: Type.Object({ period: PeriodOut, results: Type.Record(Type.String(), MetricResult) }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { query } = request
    const period = resolvePeriod(query, options.now())
    const metrics = parseList<WebMetric>(query.metrics, DEFAULT_METRICS)
    const plan = aggregatePlan(parseFilters(query.filters), metrics, query.metrics !== undefined)
    const totals = async (range: Period) => {
      const values: Record<string, number | null> = Object.fromEntries(plan.unavailable.map((metric) => [metric, null]))
      for (const { part, rows } of await run(plan, projectId, range, request.log)) Object.assign(values, metricsOf(rows[0] ?? {}, part.metrics))
      return values
    }
    const current = await totals(period)
    const previous = query.compare ? await totals(previousPeriod(period)) : undefined
    const results = Object.fromEntries(metrics.map((metric) => {
      const value = current[metric] ?? null
      if (!previous) return [metric, { value }]
      const before = previous[metric] ?? null
      return [metric, { value, previous: before, change: change(metric, value, before) }]
    }))
    return { period: describePeriod(period), results }
  })

  app.get<{ Querystring: Static<typeof TimeseriesQuery> }>('/api/v1/stats/timeseries', {
    schema: {
      summary: 'Metrics per time bucket, gaps filled', tags: ['web'], security: READ_KEY_SECURITY, querystring: TimeseriesQuery,
      response: {
        200: Type.Object({ period: PeriodOut, interval: Type.String(), results: Type.Array(Bucket), comparison: Type.Optional(Type.Array(Bucket)) }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { query } = request
    const period = resolvePeriod(query, options.now())
    const interval = chooseInterval(period, query.interval)
    const metrics = parseList<WebMetric>(query.metrics, ['visitors', 'pageviews'])
    const plan = timeseriesPlan(parseFilters(query.filters), metrics, interval, isWholeMinutes(period), query.metrics !== undefined)
    const series = async (range: Period) => {
      const byBucket = new Map<number, Record<string, number | null>>()
      for (const { part, rows } of await run(plan, projectId, range, request.log)) {
        for (const row of rows) {
          const bucket = Number(row.bucket) * 1000
          byBucket.set(bucket, { ...byBucket.get(bucket), ...metricsOf(row, part.metrics) })
        }
      }
      const empty = metricsOf({}, metrics)
      for (const metric of plan.unavailable) empty[metric] = null
      return bucketStarts(range.fromMs, range.toMs, interval, range.timezone).map((start) => ({ date: formatLocal(start, range.timezone), ...empty, ...byBucket.get(start) }))
    }
    const results = await series(period)
    const comparison = query.compare ? await series(previousPeriod(period)) : undefined
    return { period: describePeriod(period), interval, results, ...(comparison ? { comparison } : {}) }
  })

  app.get<{ Querystring: Static<typeof BreakdownQuery> }>('/api/v1/stats/breakdown', {
    schema: {
      summary: 'Metrics by a dimension, sorted and paged', tags: ['web'], security: READ_KEY_SECURITY, querystring: BreakdownQuery,
      response: {
        200: Type.Object({ period: PeriodOut, property: Type.String(), results: Type.Array(BreakdownRow), next_cursor: Nullable(Type.String()) }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { query } = request
    const period = resolvePeriod(query, options.now())
    const metrics = parseList<WebMetric>(query.metrics, ['visitors', 'pageviews'])
    const dimension = query.property as WebDimension
    const sort = metrics[0]!
    const limit = query.limit ?? 100
    // A cursor is bound to the list it came from: dimension, sort metric, filters and period.
    const list = `breakdown|${dimension}|${sort}|${query.filters ?? ''}|${period.fromMs}|${period.toMs}`
    const after = query.cursor ? decodeCursor(query.cursor, list, ['number', 'string']) : undefined
    const part = breakdownPlan(dimension, metrics, parseFilters(query.filters), isWholeMinutes(period), {
      sort, limit, ...(after ? { after: { metric: after[0] as number, value: after[1] as string } } : {}),
    })
    const rows = await options.runner.rows<MetricRow>(part.build(scopeOf(options, projectId, period)), request.log)
    const page = rows.slice(0, limit).map((row) => ({ value: String(row.value ?? ''), ...metricsOf(row, metrics) }))
    const last = page.at(-1)
    const next = rows.length > limit && last ? encodeCursor(list, [Number((last as Record<string, unknown>)[sort] ?? 0), last.value]) : null
    return { period: describePeriod(period), property: dimension, results: page, next_cursor: next }
  })
}

/** Percent change for counts and durations, the difference in points for the bounce rate. */
export function change(metric: WebMetric, value: number | null, previous: number | null): number | null {
  if (value === null || previous === null) return null
  if (metric === 'bounce_rate') return value - previous
  if (previous === 0) return value === 0 ? 0 : null
  return Math.round(((value - previous) / previous) * 1000) / 10
}
