/**
 * Query building blocks. Values only ever reach ClickHouse as typed query parameters; the only
 * text spliced into SQL is column expressions from fixed maps in this folder and integers the
 * builders produced themselves.
 */

export interface BuiltQuery {
  readonly query: string
  readonly params: Record<string, unknown>
}

export type ParamType = 'String' | 'Int64' | 'UInt64' | 'Float64' | 'Array(String)'

/** Collects query parameters and hands out their placeholders. */
export class SqlParams {
  readonly values: Record<string, unknown> = {}
  private next = 0

  add(value: unknown, type: ParamType): string {
    const name = `p${this.next++}`
    this.values[name] = value
    return `{${name}:${type}}`
  }
}

/** Whom and when every query is about; `project` always comes from the read key. */
export interface QueryScope {
  readonly database: string
  readonly projectId: string
  readonly fromMs: number
  readonly toMs: number
  readonly timezone: string
}

/** Placeholders shared by the clauses of one query. */
export interface ScopeParams {
  readonly params: SqlParams
  readonly project: string
  readonly from: string
  readonly to: string
  readonly timezone: string
  readonly scope: QueryScope
}

export function scopeParams(scope: QueryScope, params = new SqlParams()): ScopeParams {
  return {
    params,
    scope,
    project: params.add(scope.projectId, 'String'),
    from: params.add(scope.fromMs, 'Int64'),
    to: params.add(scope.toMs, 'Int64'),
    timezone: params.add(scope.timezone, 'String'),
  }
}

/** `column` in [from, to) for DateTime64(3) columns. */
export function millisRange(column: string, p: ScopeParams): string {
  return `${column} >= fromUnixTimestamp64Milli(${p.from}) AND ${column} < fromUnixTimestamp64Milli(${p.to})`
}

/** `column` in [from, to) for DateTime (seconds) columns such as window_start. */
export function secondsRange(column: string, p: ScopeParams): string {
  return `${column} >= toDateTime(intDiv(${p.from}, 1000), 'UTC') AND ${column} < toDateTime(intDiv(${p.to} + 999, 1000), 'UTC')`
}

export type BucketInterval = 'minute' | 'hour' | 'day'

/** The bucket of `column` as epoch seconds; hours and days are those of the query's time zone. */
export function bucketExpression(column: string, interval: BucketInterval, p: ScopeParams): string {
  if (interval === 'minute') return `toUnixTimestamp(toStartOfMinute(${column}))`
  const start = interval === 'hour' ? 'toStartOfHour' : 'toStartOfDay'
  return `toUnixTimestamp(${start}(${column}, ${p.timezone}))`
}

export function table(scope: QueryScope, name: string): string {
  return `${scope.database}.${name}`
}

export function and(conditions: readonly string[]): string {
  return conditions.filter(Boolean).join('\n  AND ')
}
