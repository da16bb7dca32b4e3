/**
 * Calendar arithmetic in an IANA time zone with nothing but Intl, so that day and hour buckets
 * computed here match ClickHouse's toStartOfDay/toStartOfHour(ts, tz) for gap filling.
 */

export type Interval = 'minute' | 'hour' | 'day'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

interface LocalParts {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timezone: string): Intl.DateTimeFormat {
  let format = formatters.get(timezone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    })
    formatters.set(timezone, format)
  }
  return format
}

/** The shape of a tz database name; the OpenAPI documents state it, Intl then decides. */
export const TIMEZONE_PATTERN = '^[A-Za-z][A-Za-z0-9_+\\-/]{0,63}$'
const TIMEZONE_SHAPE = new RegExp(TIMEZONE_PATTERN)

/** True when Intl knows the zone (the same tz database names ClickHouse accepts). */
export function isTimezone(name: string): boolean {
  if (!TIMEZONE_SHAPE.test(name)) return false
  try {
    formatter(name)
    return true
  } catch {
    return false
  }
}

export function localParts(ms: number, timezone: string): LocalParts {
  const parts: Record<string, number> = {}
  for (const part of formatter(timezone).formatToParts(new Date(ms))) if (part.type !== 'literal') parts[part.type] = Number(part.value)
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! }
}

function offsetAt(ms: number, timezone: string): number {
  const p = localParts(ms, timezone)
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000
}

/**
 * The instant of a local wall-clock time (month 1-based; overflowing days roll over as in
 * Date.UTC). Two rounds settle the offset across a DST change; a time skipped by DST maps to the
 * instant after the gap, as ClickHouse does for a midnight that does not exist.
 */
export function zonedInstant(year: number, month: number, day: number, timezone: string, hour = 0, minute = 0): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute)
  const first = wall - offsetAt(wall, timezone)
  return wall - offsetAt(first, timezone)
}

export function startOfDay(ms: number, timezone: string): number {
  const p = localParts(ms, timezone)
  return zonedInstant(p.year, p.month, p.day, timezone)
}

/** Midnight `days` calendar days after the local day of `ms`. */
export function addDays(ms: number, days: number, timezone: string): number {
  const p = localParts(ms, timezone)
  return zonedInstant(p.year, p.month, p.day + days, timezone)
}

export function startOfMonth(ms: number, timezone: string): number {
  const p = localParts(ms, timezone)
  return zonedInstant(p.year, p.month, 1, timezone)
}

export function bucketStart(ms: number, interval: Interval, timezone: string): number {
  if (interval === 'minute') return Math.floor(ms / MINUTE) * MINUTE
  if (interval === 'day') return startOfDay(ms, timezone)
  const p = localParts(ms, timezone)
  return Math.floor(ms / 1000) * 1000 - p.minute * MINUTE - p.second * 1000
}

function nextBucket(start: number, interval: Interval, timezone: string): number {
  if (interval === 'minute') return start + MINUTE
  if (interval === 'hour') return start + HOUR
  return addDays(start, 1, timezone)
}

/** Every bucket start overlapping [fromMs, toMs), at most `limit` of them. */
export function bucketStarts(fromMs: number, toMs: number, interval: Interval, timezone: string, limit = Number.POSITIVE_INFINITY): number[] {
  const starts: number[] = []
  for (let start = bucketStart(fromMs, interval, timezone); start < toMs && starts.length < limit; start = nextBucket(start, interval, timezone)) starts.push(start)
  return starts
}

/** ISO 8601 with the zone's offset at that instant: 2026-11-22T00:00:00+01:00. */
export function formatLocal(ms: number, timezone: string): string {
  const p = localParts(ms, timezone)
  const offsetMinutes = Math.round(offsetAt(ms, timezone) / MINUTE)
  const pad = (value: number, width = 2) => String(value).padStart(width, '0')
  const offset = offsetMinutes === 0 ? 'Z' : `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}:${pad(Math.abs(offsetMinutes) % 60)}`
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${offset}`
}
