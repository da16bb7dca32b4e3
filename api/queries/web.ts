import { dimensionColumn, eventScope, filterConditions, valueCondition, type Filter, type WebDimension } from '../filters.ts'
import { and, bucketExpression, millisRange, scopeParams, secondsRange, table, type BucketInterval, type BuiltQuery, type QueryScope, type ScopeParams } from './sql.ts'

export const EVENT_METRICS = ['visitors', 'pageviews', 'events'] as const
export const SESSION_METRICS = ['sessions', 'bounce_rate', 'visit_duration', 'views_per_visit'] as const
export const WEB_METRICS = [...EVENT_METRICS, ...SESSION_METRICS] as const
export type WebMetric = (typeof WEB_METRICS)[number]
export type EventMetric = (typeof EVENT_METRICS)[number]
export type SessionMetric = (typeof SESSION_METRICS)[number]

export const isSessionMetric = (metric: WebMetric): metric is SessionMetric => (SESSION_METRICS as readonly string[]).includes(metric)

// Every metric is aliased m_<name>: a bare `pageviews` alias would shadow the sessions column of
// that name inside the other metrics' expressions.
const RAW_METRICS: Record<EventMetric, string> = {
  visitors: 'uniqExact(anonymous_id)',
  pageviews: `countIf(type = 'pageview')`,
  events: 'count()',
}

/** Over sessions starting in the range: a session's pageviews, duration and bounce are its own. */
const SESSIONS_METRICS: Record<WebMetric, string> = {
  visitors: 'uniqExact(anonymous_id)',
  pageviews: 'sum(pageviews)',
  events: 'sum(events)',
  sessions: 'count()',
  bounce_rate: 'if(count() = 0, NULL, round(100 * sum(bounced) / count()))',
  visit_duration: 'if(count() = 0, NULL, round(sum(duration_ms) / count() / 1000))',
  views_per_visit: 'if(count() = 0, NULL, round(sum(pageviews) / count(), 2))',
}

/** clicks_1m per minute: pageviews add up; visitors add up across partitions only within one minute and one value. */
const CLICKS_METRICS: Partial<Record<WebMetric, string>> = { pageviews: 'sum(pageviews)', visitors: 'sum(visitors)' }

/** A bounded, keyset-paged list sorted by one metric, descending, ties by value. */
export interface Page {
  readonly sort: WebMetric
  readonly limit: number
  readonly after?: { readonly metric: number; readonly value: string }
}

export interface WebQuery {
  readonly scope: QueryScope
  readonly filters: readonly Filter[]
  readonly metrics: readonly WebMetric[]
  /** Group by time bucket (timeseries) … */
  readonly interval?: BucketInterval
  /** … or by a dimension (breakdown), with a page. */
  readonly dimension?: WebDimension
  readonly page?: Page
}

/** Metric columns of a row: m_<metric>; grouping columns: bucket (epoch seconds), value. */
export type MetricRow = Record<string, string | number | null>

/** events_click: exact unique visitors over any range and any filter. */
export function rawEventsQuery(query: WebQuery): BuiltQuery {
  const p = scopeParams(query.scope)
  const groups = groupColumns(query, p, 'ts', (dimension) => dimensionColumn(dimension, 'raw', p))
  const metrics = query.metrics.map((metric) => `${RAW_METRICS[metric as EventMetric] ?? unsupported(metric, 'events_click')} AS m_${metric}`)
  const where = and([
    `project_id = ${p.project}`,
    millisRange('ts', p),
    eventScope(query.filters, query.dimension),
    ...filterConditions(query.filters, 'raw', p),
  ])
  return assemble(p, 'events_click', groups, metrics, where, query)
}

/** sessions: one row per visit with its entry page, exit page, duration and bounce. */
export function sessionsQuery(query: WebQuery): BuiltQuery {
  const p = scopeParams(query.scope)
  const groups = groupColumns(query, p, 'session_start', (dimension) => dimensionColumn(dimension, 'sessions', p))
  const metrics = query.metrics.map((metric) => `${SESSIONS_METRICS[metric]} AS m_${metric}`)
  const where = and([`project_id = ${p.project}`, 'is_deleted = 0', millisRange('session_start', p), ...filterConditions(query.filters, 'sessions', p)])
  return assemble(p, 'sessions', groups, metrics, where, query)
}

/**
 * clicks_1m: pageviews (and per-minute visitors) by one dimension, already aggregated. Each
 * pageview is in exactly one row per dimension, so one filter on that dimension, any operator,
 * keeps the pageview counts exact. `clicksDimension` is the dimension the rows are read from.
 */
export function clicksQuery(query: WebQuery & { readonly clicksDimension: string; readonly filter?: Filter }): BuiltQuery {
  const p = scopeParams(query.scope)
  const groups = groupColumns(query, p, 'window_start', () => 'value')
  const metrics = query.metrics.map((metric) => `${CLICKS_METRICS[metric] ?? unsupported(metric, 'clicks_1m')} AS m_${metric}`)
  const where = and([
    `project_id = ${p.project}`,
    `dimension = ${p.params.add(query.clicksDimension, 'String')}`,
    // A value a reprocess found no pageviews for keeps a row of zeros (processors/reprocess/tables.ts).
    'pageviews > 0',
    secondsRange('window_start', p),
    ...(query.filter ? [valueCondition('value', query.filter, p)] : []),
  ])
  return assemble(p, 'clicks_1m', groups, metrics, where, query)
}

function groupColumns(query: WebQuery, p: ScopeParams, timeColumn: string, column: (dimension: WebDimension) => string): string[] {
  if (query.interval) return [`${bucketExpression(timeColumn, query.interval, p)} AS bucket`]
  if (query.dimension) return [`${column(query.dimension)} AS value`]
  return []
}

function assemble(p: ScopeParams, tableName: string, groups: string[], metrics: string[], where: string, query: WebQuery): BuiltQuery {
  const lines = [`SELECT ${[...groups, ...metrics].join(', ')}`, `FROM ${table(p.scope, tableName)} FINAL`, `WHERE ${where}`]
  if (groups.length > 0) lines.push(`GROUP BY ${query.interval ? 'bucket' : 'value'}`)
  if (query.interval) lines.push('ORDER BY bucket')
  if (query.dimension && query.page) {
    const { sort, limit, after } = query.page
    if (after) lines.push(`HAVING m_${sort} < ${p.params.add(after.metric, 'Float64')} OR (m_${sort} = ${p.params.add(after.metric, 'Float64')} AND value > ${p.params.add(after.value, 'String')})`)
    // One more than asked for tells whether there is a next page.
    lines.push(`ORDER BY m_${sort} DESC, value ASC`, `LIMIT ${Math.trunc(limit) + 1}`)
  }
  return { query: lines.join('\n'), params: p.params.values }
}

function unsupported(metric: string, tableName: string): never {
  throw new Error(`${metric} is not computed from ${tableName}`)
}

/** The metrics of a row, as numbers (or null for a ratio over no sessions). */
export function metricsOf(row: MetricRow, metrics: readonly WebMetric[]): Record<string, number | null> {
  return Object.fromEntries(metrics.map((metric) => {
    const value = row[`m_${metric}`]
    return [metric, value === null || value === undefined ? (isSessionMetric(metric) && metric !== 'sessions' ? null : 0) : Number(value)]
  }))
}
