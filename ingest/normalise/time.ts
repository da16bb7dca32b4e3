/** Reads an ISO 8601 string or epoch milliseconds; undefined when absent, NaN when unreadable. */
export function readTime(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN
  if (typeof value === 'string') {
    // Date.parse accepts a few non-ISO shapes; require at least a full date so '5' is not year 2005.
    const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(value)
    if (!date) return /^\d{12,14}$/.test(value) ? Number(value) : Number.NaN
    // Date.parse rolls an impossible day over (2026-02-30 is 2 March): refuse it instead.
    if (Number(date[3]) > daysInMonth(Number(date[1]), Number(date[2]))) return Number.NaN
    return Date.parse(value)
  }
  return Number.NaN
}

/** Days in a month of the proleptic Gregorian calendar; 0 for a month that does not exist. */
function daysInMonth(year: number, month: number): number {
  if (month < 1 || month > 12) return 0
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/**
 * Segment's clock-skew correction: the client's clock may be wrong, but the difference between
 * when it says the event happened and when it says it sent the batch is right. So
 * ts = receivedAt − (sentAt − timestamp). Without sentAt the client timestamp is taken as is.
 */
export function correctClockSkew(timestamp: number | undefined, sentAt: number | undefined, receivedAt: number): number {
  if (timestamp === undefined) return receivedAt
  if (sentAt === undefined) return timestamp
  return Math.round(receivedAt - (sentAt - timestamp))
}

export interface TimeBounds {
  readonly maxFutureMs: number
  readonly retentionMs: number
}

/** ISO 8601 where a Date can hold the time (±8.64e15 ms); epoch numbers beyond that (1e300, or skew-corrected sums) as they are. */
function formatTime(ts: number): string {
  return Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : `${ts} ms since the epoch`
}

/** Why an event time cannot be accepted, or undefined when it can. */
export function timeProblem(ts: number, receivedAt: number, bounds: TimeBounds): string | undefined {
  if (ts > receivedAt + bounds.maxFutureMs) {
    return `event time ${formatTime(ts)} is more than ${bounds.maxFutureMs / 3_600_000} h in the future`
  }
  if (ts < receivedAt - bounds.retentionMs) {
    return `event time ${formatTime(ts)} is older than the retention of ${Math.round(bounds.retentionMs / 86_400_000)} days`
  }
  return undefined
}

/**
 * Reads an event's own time field: absent means "now" (receivedAt); unreadable or out of bounds
 * is a field error with the reason. Returns NaN when the time cannot be used.
 */
export function readEventTime(value: unknown, receivedAt: number, bounds: TimeBounds, fail: (reason: string) => void): number {
  const time = readTime(value)
  if (Number.isNaN(time)) {
    fail('must be an ISO 8601 date-time or epoch milliseconds')
    return Number.NaN
  }
  const ts = time ?? receivedAt
  const problem = timeProblem(ts, receivedAt, bounds)
  if (problem) fail(problem)
  return ts
}
