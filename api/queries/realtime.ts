import { and, scopeParams, secondsRange, table, type BuiltQuery, type QueryScope } from './sql.ts'

/**
 * Visitors active now: the hopping window of active_visitors_5m that ends at `windowEndMs` (the
 * next minute boundary), as fired early by the processors. Partials add up: a visitor is in one
 * partition.
 */
export function activeVisitorsQuery(scope: QueryScope, windowEndMs: number): BuiltQuery {
  const p = scopeParams(scope)
  const end = p.params.add(Math.floor(windowEndMs / 1000), 'Int64')
  return {
    query: `SELECT sum(visitors) AS visitors, sum(pageviews) AS pageviews
FROM ${table(scope, 'active_visitors_5m')} FINAL
WHERE ${and([`project_id = ${p.project}`, `window_end = toDateTime(${end}, 'UTC')`])}`,
    params: p.params.values,
  }
}

/** Pageviews per minute from clicks_1m (dimension total), for the last minutes. */
export function pageviewsPerMinuteQuery(scope: QueryScope): BuiltQuery {
  const p = scopeParams(scope)
  return {
    query: `SELECT toUnixTimestamp(window_start) AS bucket, sum(pageviews) AS pageviews, sum(visitors) AS visitors
FROM ${table(scope, 'clicks_1m')} FINAL
WHERE ${and([`project_id = ${p.project}`, `dimension = 'total'`, secondsRange('window_start', p)])}
GROUP BY bucket ORDER BY bucket`,
    params: p.params.values,
  }
}
