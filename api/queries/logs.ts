import { and, bucketExpression, scopeParams, secondsRange, table, type BucketInterval, type BuiltQuery, type QueryScope, type ScopeParams } from './sql.ts'

export interface LogFilters {
  readonly services: readonly string[]
  readonly levels: readonly string[]
}

function serviceAndLevel(filters: LogFilters, p: ScopeParams, withLevel = true): string[] {
  return [
    ...(filters.services.length > 0 ? [`has(${p.params.add(filters.services, 'Array(String)')}, service)`] : []),
    ...(withLevel && filters.levels.length > 0 ? [`has(${p.params.add(filters.levels, 'Array(String)')}, level)`] : []),
  ]
}

/** Lines per bucket, service and level from logs_1m (partials summed over partitions). */
export function logStatsQuery(scope: QueryScope, interval: BucketInterval, filters: LogFilters): BuiltQuery {
  const p = scopeParams(scope)
  return {
    query: `SELECT ${bucketExpression('window_start', interval, p)} AS bucket, service, level, sum(lines) AS total_lines
FROM ${table(scope, 'logs_1m')} FINAL
WHERE ${and([`project_id = ${p.project}`, secondsRange('window_start', p), ...serviceAndLevel(filters, p)])}
GROUP BY bucket, service, level
ORDER BY service, level, bucket`,
    params: p.params.values,
  }
}

export interface FingerprintKey {
  readonly occurrences: number
  readonly service: string
  readonly fingerprint: string
}

/**
 * Error fingerprints from error_fingerprints_1h, most frequent first, keyset-paged on
 * (occurrences desc, service, fingerprint). The hourly rows are summed over the hours and
 * partitions of the range; the sample is the earliest message.
 */
export function topErrorsQuery(scope: QueryScope, services: readonly string[], limit: number, after?: FingerprintKey): BuiltQuery {
  const p = scopeParams(scope)
  const having = after
    ? `HAVING total < ${p.params.add(after.occurrences, 'UInt64')} OR (total = ${p.params.add(after.occurrences, 'UInt64')} AND (service, fingerprint) > (${p.params.add(after.service, 'String')}, ${p.params.add(after.fingerprint, 'String')}))`
    : ''
  return {
    // Aliases differ from column names: an alias named first_seen would capture the argMin below.
    query: `SELECT service, fingerprint, any(template) AS message_template, sum(occurrences) AS total,
  toUnixTimestamp64Milli(min(first_seen)) AS first_seen_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_seen_ms,
  argMin(sample_message, first_seen) AS sample
FROM ${table(scope, 'error_fingerprints_1h')} FINAL
WHERE ${and([`project_id = ${p.project}`, 'occurrences > 0', secondsRange('window_start', p), ...serviceAndLevel({ services, levels: [] }, p)])}
GROUP BY service, fingerprint
${having}
ORDER BY total DESC, service, fingerprint
LIMIT ${Math.trunc(limit) + 1}`,
    params: p.params.values,
  }
}

export interface AnomalyKey {
  readonly minuteMs: number
  readonly service: string
}

/** Minutes whose error rate left the service's baseline, newest first, keyset-paged. */
export function anomaliesQuery(scope: QueryScope, services: readonly string[], limit: number, after?: AnomalyKey): BuiltQuery {
  const p = scopeParams(scope)
  const keyset = after
    ? [`(window_start < toDateTime(${p.params.add(Math.floor(after.minuteMs / 1000), 'Int64')}, 'UTC') OR (window_start = toDateTime(${p.params.add(Math.floor(after.minuteMs / 1000), 'Int64')}, 'UTC') AND service > ${p.params.add(after.service, 'String')}))`]
    : []
  return {
    query: `SELECT service, toUnixTimestamp(window_start) AS minute, lines, errors, error_rate, baseline, factor, direction
FROM ${table(scope, 'log_anomalies')} FINAL
WHERE ${and([`project_id = ${p.project}`, secondsRange('window_start', p), ...serviceAndLevel({ services, levels: [] }, p), ...keyset])}
ORDER BY window_start DESC, service
LIMIT ${Math.trunc(limit) + 1}`,
    params: p.params.values,
  }
}
