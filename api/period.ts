import { invalidInput } from './errors.ts'
import { addDays, bucketStarts, isTimezone, startOfDay, startOfMonth, zonedInstant, type Interval } from './zoned-time.ts'

export type { Interval }

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** Longest range any query may cover: the raw retention default. */
export const MAX_RANGE_MS = 400 * DAY
/** Most buckets a timeseries answers: a day by the minute fits, a year by the minute does not. */
export const MAX_BUCKETS = 1_500
/** What `period=realtime` covers. */
export const REALTIME_MS = 30 * MINUTE

export interface PeriodQuery {
  readonly period?: string
  readonly from?: string
  readonly to?: string
  readonly timezone?: string
}

/** A half-open range [fromMs, toMs) and the zone its calendar words and day buckets mean. */
export interface Period {
  readonly fromMs: number
  readonly toMs: number
  readonly timezone: string
}

export const PERIOD_PATTERN = '^(realtime|today|yesterday|month|custom|[1-9][0-9]{0,3}(m|h|d))$'

/**
 * `period` (realtime, today, yesterday, month, 30m, 24h, 7d) or `from`/`to` (ISO 8601 date-times,
 * or dates meaning whole local days, `to` inclusive), in `timezone` (IANA, default UTC). Rolling
 * periods (m, h, realtime) end at the next minute boundary so they line up with the per-minute
 * aggregates; day periods are calendar days ending with today.
 */
export function resolvePeriod(query: PeriodQuery, nowMs: number, defaultPeriod = '7d'): Period {
  const timezone = query.timezone ?? 'UTC'
  if (!isTimezone(timezone)) throw invalidInput('querystring/timezone', 'must be an IANA time zone such as Europe/Berlin')
  const hasRange = query.from !== undefined || query.to !== undefined
  if (hasRange && query.period !== undefined && query.period !== 'custom') throw invalidInput('querystring/period', 'give either period or from/to, not both')
  const range = hasRange || query.period === 'custom' ? customRange(query, timezone) : namedRange(query.period ?? defaultPeriod, nowMs, timezone)
  if (!(range.fromMs < range.toMs)) throw invalidInput('querystring/to', 'must be after from')
  if (range.toMs - range.fromMs > MAX_RANGE_MS) throw invalidInput(hasRange ? 'querystring/to' : 'querystring/period', 'the range may cover at most 400 days')
  return { ...range, timezone }
}

function customRange(query: PeriodQuery, timezone: string): { fromMs: number; toMs: number } {
  if (query.from === undefined) throw invalidInput('querystring/from', 'is required with to or period=custom')
  if (query.to === undefined) throw invalidInput('querystring/to', 'is required with from or period=custom')
  return { fromMs: parseInstant(query.from, timezone, 'from'), toMs: parseInstant(query.to, timezone, 'to') }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/
const ZONED_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i

/** A date is the start of that local day (for `to`: the end, so a `to` date is inclusive). */
export function parseInstant(text: string, timezone: string, field: 'from' | 'to'): number {
  const date = DATE.exec(text)
  if (date) {
    const [, year, month, day] = date.map(Number) as [number, number, number, number]
    if (!validDate(year, month, day)) throw invalidInput(`querystring/${field}`, 'is not a calendar date')
    return zonedInstant(year, month, day + (field === 'to' ? 1 : 0), timezone)
  }
  const local = LOCAL_DATE_TIME.exec(text)
  if (local) {
    const [year, month, day, hour, minute] = local.slice(1, 6).map(Number) as [number, number, number, number, number]
    const second = Number(local[6] ?? 0)
    const millis = Number((local[7] ?? '0').padEnd(3, '0'))
    if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 59) throw invalidInput(`querystring/${field}`, 'is not a valid date-time')
    return zonedInstant(year, month, day, timezone, hour, minute) + second * 1000 + millis
  }
  const zoned = ZONED_DATE_TIME.exec(text)
  // Date.parse rolls an impossible day over (2026-02-30T10:00Z is 2 March): refuse it instead.
  if (zoned && !validDate(Number(zoned[1]), Number(zoned[2]), Number(zoned[3]))) throw invalidInput(`querystring/${field}`, 'is not a valid date-time')
  const ms = zoned ? Date.parse(text) : Number.NaN
  if (Number.isNaN(ms)) throw invalidInput(`querystring/${field}`, 'must be an ISO 8601 date (2026-11-22) or date-time (2026-11-22T10:00:00Z)')
  return ms
}

function validDate(year: number, month: number, day: number): boolean {
  const probe = new Date(Date.UTC(year, month - 1, day))
  return probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day
}

function namedRange(period: string, nowMs: number, timezone: string): { fromMs: number; toMs: number } {
  const nextMinute = Math.ceil((nowMs + 1) / MINUTE) * MINUTE
  const today = startOfDay(nowMs, timezone)
  if (period === 'realtime') return { fromMs: nextMinute - REALTIME_MS, toMs: nextMinute }
  if (period === 'today') return { fromMs: today, toMs: addDays(today, 1, timezone) }
  if (period === 'yesterday') return { fromMs: addDays(today, -1, timezone), toMs: today }
  if (period === 'month') {
    const month = startOfMonth(nowMs, timezone)
    return { fromMs: month, toMs: addDays(today, 1, timezone) }
  }
  const relative = /^([1-9]\d{0,3})(m|h|d)$/.exec(period)
  if (!relative) throw invalidInput('querystring/period', 'must be realtime, today, yesterday, month, custom, or a number with m, h or d (30m, 24h, 7d)')
  const amount = Number(relative[1])
  if (relative[2] === 'd') {
    if (amount * DAY > MAX_RANGE_MS) throw invalidInput('querystring/period', 'the range may cover at most 400 days')
    return { fromMs: addDays(today, 1 - amount, timezone), toMs: addDays(today, 1, timezone) }
  }
  const length = amount * (relative[2] === 'h' ? HOUR : MINUTE)
  return { fromMs: nextMinute - length, toMs: nextMinute }
}

/** The period of equal length just before, for comparisons. */
export function previousPeriod(period: Period): Period {
  const length = period.toMs - period.fromMs
  return { fromMs: period.fromMs - length, toMs: period.fromMs, timezone: period.timezone }
}

/** Minute up to 3 h, hour up to 2 days, day beyond; an explicit interval must fit MAX_BUCKETS. */
export function chooseInterval(period: Period, requested: Interval | undefined): Interval {
  const length = period.toMs - period.fromMs
  const interval = requested ?? (length <= 3 * HOUR ? 'minute' : length <= 2 * DAY ? 'hour' : 'day')
  if (bucketStarts(period.fromMs, period.toMs, interval, period.timezone, MAX_BUCKETS + 1).length > MAX_BUCKETS) {
    throw invalidInput('querystring/interval', `${interval} buckets over this period would be more than ${MAX_BUCKETS}; choose a coarser interval`)
  }
  return interval
}

/** Widens a range to whole minutes: the per-minute aggregates cannot split one. */
export function toWholeMinutes(period: Period): Period {
  return { ...period, fromMs: Math.floor(period.fromMs / MINUTE) * MINUTE, toMs: Math.ceil(period.toMs / MINUTE) * MINUTE }
}

export function isWholeMinutes(period: Period): boolean {
  return period.fromMs % MINUTE === 0 && period.toMs % MINUTE === 0
}
