/** Event-time settings shared by the jobs; every job reads them from here, not from constants of its own. */
export interface EventTimeSettings {
  /** How far out of order events may arrive before windows close (bounded out-of-orderness). */
  readonly outOfOrdernessMs: number
  /** How long after closing a window still accepts late events (each one a new revision). */
  readonly allowedLatenessMs: number
  /** Provisional results for live views every so often (processing time). */
  readonly earlyFiringMs: number
  readonly idleTimeoutMs: number
  /** Most event ids remembered for deduplication per partition (see Deduplicator). */
  readonly deduplicationMaxEntries: number
}

export const DEFAULT_EVENT_TIME: EventTimeSettings = {
  outOfOrdernessMs: 10_000,
  allowedLatenessMs: 10 * 60_000,
  earlyFiringMs: 1_000,
  idleTimeoutMs: 60_000,
  deduplicationMaxEntries: 1_000_000,
}

/**
 * How long event ids are remembered for deduplication: what the job's short windows still accept.
 * A duplicate arriving later than that (rare: retries come within seconds) is counted again only
 * by windows longer than `windowMs` (the hourly ones); raw tables still deduplicate it.
 */
export function deduplicationLimits(settings: EventTimeSettings, windowMs: number): { horizonMs: number; maxEntries: number } {
  return { horizonMs: settings.outOfOrdernessMs + settings.allowedLatenessMs + windowMs, maxEntries: settings.deduplicationMaxEntries }
}
