import { and, millisRange, scopeParams, table, type BuiltQuery, type QueryScope, type ScopeParams } from './sql.ts'

export const NOTIFICATION_DIMENSIONS = ['channel', 'provider', 'template'] as const
export type NotificationDimension = (typeof NOTIFICATION_DIMENSIONS)[number]

export interface NotificationQuery {
  readonly scope: QueryScope
  /** Dimensions to group by (a subset of NOTIFICATION_DIMENSIONS, so safe to splice). */
  readonly groupBy: readonly NotificationDimension[]
  /** Only these values per dimension (empty: all). */
  readonly only: Partial<Record<NotificationDimension, readonly string[]>>
}

/**
 * Every query reads notification_lifecycle: one row per notification with the earliest time of
 * each status, so each notification counts once however many events it had. A notification
 * belongs to the period its first event falls in.
 */
function lifecycle(query: NotificationQuery, select: string[], extraWhere: string[] = [], order = ''): BuiltQuery {
  const p = scopeParams(query.scope)
  const groups = knownDimensions(query.groupBy)
  const lines = [
    `SELECT ${[...groups, ...select].join(', ')}`,
    `FROM ${table(query.scope, 'notification_lifecycle')} FINAL`,
    `WHERE ${and([`project_id = ${p.project}`, millisRange('first_seen', p), ...onlyConditions(query, p), ...extraWhere])}`,
  ]
  if (groups.length > 0) lines.push(`GROUP BY ${groups.join(', ')}`)
  lines.push(order || (groups.length > 0 ? `ORDER BY ${groups.join(', ')}` : ''))
  return { query: lines.filter(Boolean).join('\n'), params: p.params.values }
}

function knownDimensions(names: readonly string[]): NotificationDimension[] {
  return NOTIFICATION_DIMENSIONS.filter((dimension) => names.includes(dimension))
}

function onlyConditions(query: NotificationQuery, p: ScopeParams): string[] {
  return NOTIFICATION_DIMENSIONS.flatMap((dimension) => {
    const values = query.only[dimension]
    return values && values.length > 0 ? [`has(${p.params.add(values, 'Array(String)')}, ${dimension})`] : []
  })
}

/** A notification counts at a stage if it reached it or any later one (an open implies delivery). */
export function notificationFunnelQuery(query: NotificationQuery): BuiltQuery {
  return lifecycle(query, [
    'count() AS notifications',
    'countIf(sent_at IS NOT NULL OR delivered_at IS NOT NULL OR opened_at IS NOT NULL OR clicked_at IS NOT NULL) AS reached_sent',
    'countIf(delivered_at IS NOT NULL OR opened_at IS NOT NULL OR clicked_at IS NOT NULL) AS reached_delivered',
    'countIf(opened_at IS NOT NULL OR clicked_at IS NOT NULL) AS reached_opened',
    'countIf(clicked_at IS NOT NULL) AS reached_clicked',
    'countIf(failed_at IS NOT NULL) AS reached_failed',
  ])
}

export const QUANTILES = [0.5, 0.9, 0.95, 0.99] as const

/** Exact quantiles (nearest rank, no interpolation) of the two latencies; NULLs are skipped. */
export function notificationLatencyQuery(query: NotificationQuery): BuiltQuery {
  const levels = QUANTILES.join(', ')
  return lifecycle(query, [
    'count(sent_to_delivered_ms) AS delivered_count',
    `quantilesExact(${levels})(sent_to_delivered_ms) AS delivered_quantiles`,
    'max(sent_to_delivered_ms) AS delivered_max',
    'count(delivered_to_opened_ms) AS opened_count',
    `quantilesExact(${levels})(delivered_to_opened_ms) AS opened_quantiles`,
    'max(delivered_to_opened_ms) AS opened_max',
  ])
}

/** Failed notifications by error code and failure status, most frequent first. */
export function notificationFailuresQuery(query: NotificationQuery, limit: number): BuiltQuery {
  const dimensions = knownDimensions(query.groupBy)
  const built = lifecycle({ ...query, groupBy: [] }, [...dimensions, 'error_code', 'final_status AS status', 'count() AS failures'], ['failed_at IS NOT NULL'])
  const groups = ['error_code', 'status', ...dimensions]
  return { ...built, query: `${built.query}\nGROUP BY ${groups.join(', ')}\nORDER BY failures DESC, ${groups.join(', ')}\nLIMIT ${Math.trunc(limit)}` }
}

/** Notifications in the period (the denominator of failure shares), and how many failed. */
export function notificationTotalQuery(query: NotificationQuery): BuiltQuery {
  return lifecycle({ ...query, groupBy: [] }, ['count() AS notifications', 'countIf(failed_at IS NOT NULL) AS failed'])
}
