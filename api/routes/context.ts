import type { KeyRing } from '../../core/auth/keys.ts'
import type { Period } from '../period.ts'
import type { QueryScope } from '../queries/sql.ts'
import type { QueryRunner } from '../store.ts'
import { formatLocal } from '../zoned-time.ts'

/** What every read route needs; the project always comes from the request's read key. */
export interface ReadRouteOptions {
  readonly keys: KeyRing
  readonly runner: QueryRunner
  readonly database: string
  readonly now: () => number
}

export function scopeOf(options: ReadRouteOptions, projectId: string, period: Period): QueryScope {
  return { database: options.database, projectId, fromMs: period.fromMs, toMs: period.toMs, timezone: period.timezone }
}

export function describePeriod(period: Period) {
  return { from: formatLocal(period.fromMs, period.timezone), to: formatLocal(period.toMs, period.timezone), timezone: period.timezone }
}
