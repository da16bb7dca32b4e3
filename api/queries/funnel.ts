import { filterConditions, type Filter } from '../filters.ts'
import { and, millisRange, scopeParams, table, type BuiltQuery, type QueryScope } from './sql.ts'

/** A pageview of a path, or a custom event by name. */
export type FunnelStep = { readonly path: string } | { readonly event: string }

/**
 * Visitors reaching each step in order within `windowMs` of the first, by ClickHouse's
 * windowFunnel over raw events: a row per level reached (1 = only the first step).
 */
export function funnelQuery(scope: QueryScope, steps: readonly FunnelStep[], windowMs: number, filters: readonly Filter[]): BuiltQuery {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`)
  const p = scopeParams(scope)
  const conditions = steps.map((step) => ('path' in step
    ? `(type = 'pageview' AND path = ${p.params.add(step.path, 'String')})`
    : `(type IN ('custom', 'click') AND name = ${p.params.add(step.event, 'String')})`))
  // windowFunnel's window is a parametric-function constant: spliced as the integer checked above.
  return {
    query: `SELECT level, count() AS visitors FROM (
  SELECT anonymous_id, windowFunnel(${windowMs})(toUInt64(toUnixTimestamp64Milli(ts)), ${conditions.join(', ')}) AS level
  FROM ${table(scope, 'events_click')} FINAL
  WHERE ${and([`project_id = ${p.project}`, millisRange('ts', p), `type IN ('pageview', 'custom', 'click')`, ...filterConditions(filters, 'raw', p)])}
  GROUP BY anonymous_id
)
WHERE level > 0
GROUP BY level ORDER BY level`,
    params: p.params.values,
  }
}

/** Visitors per step from the per-level counts: reaching level n means reaching every step before. */
export function visitorsPerStep(levels: ReadonlyArray<{ level: number; visitors: number }>, steps: number): number[] {
  return Array.from({ length: steps }, (_, index) => levels.filter((row) => Number(row.level) >= index + 1).reduce((sum, row) => sum + Number(row.visitors), 0))
}
