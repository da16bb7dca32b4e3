import { invalidInput } from './errors.ts'
import { answers, WEB_DIMENSIONS, type Filter, type WebDimension } from './filters.ts'
import type { BucketInterval, BuiltQuery, QueryScope } from './queries/sql.ts'
import { clicksQuery, isSessionMetric, rawEventsQuery, sessionsQuery, type Page, type WebMetric } from './queries/web.ts'

export type Source = 'events_click' | 'sessions' | 'clicks_1m'

/** One query of an answer: which table, which metrics it yields, and how to build it for a range. */
export interface Part {
  readonly source: Source
  readonly metrics: readonly WebMetric[]
  readonly build: (scope: QueryScope) => BuiltQuery
}

export interface Plan {
  readonly parts: readonly Part[]
  /** Metrics asked for by default that these filters make unanswerable: reported as null. */
  readonly unavailable: readonly WebMetric[]
}

/**
 * Visitors, pageviews and events come from raw events (unique visitors over a range cannot be
 * added up from per-minute rows, and the same scan counts pageviews); visit metrics from the
 * sessions table, when the filters are about something a session carries.
 */
export function aggregatePlan(filters: readonly Filter[], metrics: readonly WebMetric[], explicit: boolean): Plan {
  const eventMetrics = metrics.filter((metric) => !isSessionMetric(metric))
  const parts: Part[] = []
  if (eventMetrics.length > 0) parts.push({ source: 'events_click', metrics: eventMetrics, build: (scope) => rawEventsQuery({ scope, filters, metrics: eventMetrics }) })
  const sessions = sessionPart(filters, metrics, explicit, undefined)
  return { parts: sessions.part ? [...parts, sessions.part] : parts, unavailable: sessions.unavailable }
}

/**
 * Per bucket. Pageviews, and visitors by the minute, come from clicks_1m when the filters are
 * at most one on a dimension it keeps (exact: every pageview is in one row per dimension and a
 * visitor in one partition); anything else from raw events.
 */
export function timeseriesPlan(filters: readonly Filter[], metrics: readonly WebMetric[], interval: BucketInterval, wholeMinutes: boolean, explicit: boolean): Plan {
  const eventMetrics = metrics.filter((metric) => !isSessionMetric(metric))
  const parts: Part[] = []
  if (eventMetrics.length > 0) {
    const clicks = clicksAnswer(filters, eventMetrics, interval, wholeMinutes)
    parts.push(clicks
      ? { source: 'clicks_1m', metrics: eventMetrics, build: (scope) => clicksQuery({ scope, filters, metrics: eventMetrics, interval, ...clicks }) }
      : { source: 'events_click', metrics: eventMetrics, build: (scope) => rawEventsQuery({ scope, filters, metrics: eventMetrics, interval }) })
  }
  const sessions = sessionPart(filters, metrics, explicit, interval)
  return { parts: sessions.part ? [...parts, sessions.part] : parts, unavailable: sessions.unavailable }
}

function clicksAnswer(filters: readonly Filter[], metrics: readonly WebMetric[], interval: BucketInterval, wholeMinutes: boolean): { clicksDimension: string; filter?: Filter } | undefined {
  if (!wholeMinutes || filters.length > 1) return undefined
  const filter = filters[0]
  if (filter && !answers('clicks', filter.dimension)) return undefined
  const singleValue = !filter || (filter.operator === 'is' && filter.values.length === 1)
  const fits = metrics.every((metric) => metric === 'pageviews' || (metric === 'visitors' && interval === 'minute' && singleValue))
  if (!fits) return undefined
  return filter ? { clicksDimension: clicksColumn(filter.dimension), filter } : { clicksDimension: 'total' }
}

function clicksColumn(dimension: WebDimension): string {
  return (WEB_DIMENSIONS[dimension as keyof typeof WEB_DIMENSIONS] as { clicks?: string }).clicks!
}

function sessionPart(filters: readonly Filter[], metrics: readonly WebMetric[], explicit: boolean, interval: BucketInterval | undefined): { part?: Part; unavailable: WebMetric[] } {
  const sessionMetrics = metrics.filter(isSessionMetric)
  if (sessionMetrics.length === 0) return { unavailable: [] }
  const blocking = filters.findIndex((filter) => !answers('sessions', filter.dimension))
  if (blocking !== -1) {
    if (!explicit) return { unavailable: sessionMetrics }
    throw invalidInput(`querystring/filters/${blocking}/1`, `visit metrics (${sessionMetrics.join(', ')}) cannot be filtered by ${filters[blocking]!.dimension}: sessions do not record it`)
  }
  return { part: { source: 'sessions', metrics: sessionMetrics, build: (scope) => sessionsQuery({ scope, filters, metrics: sessionMetrics, interval }) }, unavailable: [] }
}

/**
 * A breakdown reads one table, so its rows can be sorted and paged as one list: sessions for
 * entry and exit pages or visit metrics (attributed to the session's entry), clicks_1m for
 * unfiltered pageviews by a dimension it keeps, raw events otherwise.
 */
export function breakdownPlan(dimension: WebDimension, metrics: readonly WebMetric[], filters: readonly Filter[], wholeMinutes: boolean, page: Page): Part {
  const needsSessions = !answersRaw(dimension) || metrics.some(isSessionMetric)
  if (needsSessions) {
    if (!answers('sessions', dimension)) throw invalidInput('querystring/metrics', `visit metrics are not available by ${dimension}: sessions do not record it`)
    const blocking = filters.findIndex((filter) => !answers('sessions', filter.dimension))
    if (blocking !== -1) throw invalidInput(`querystring/filters/${blocking}/1`, `a breakdown by ${dimension} or of visit metrics cannot be filtered by ${filters[blocking]!.dimension}: sessions do not record it`)
    return { source: 'sessions', metrics, build: (scope) => sessionsQuery({ scope, filters, metrics, dimension, page }) }
  }
  if (wholeMinutes && filters.length === 0 && answers('clicks', dimension) && metrics.every((metric) => metric === 'pageviews')) {
    return { source: 'clicks_1m', metrics, build: (scope) => clicksQuery({ scope, filters, metrics, dimension, page, clicksDimension: clicksColumn(dimension) }) }
  }
  return { source: 'events_click', metrics, build: (scope) => rawEventsQuery({ scope, filters, metrics, dimension, page }) }
}

/** Raw events hold the dimension itself (entry and exit pages only exist per session). */
function answersRaw(dimension: WebDimension): boolean {
  return dimension.startsWith('property:') || (WEB_DIMENSIONS[dimension as keyof typeof WEB_DIMENSIONS] as { raw?: string }).raw !== undefined
}
