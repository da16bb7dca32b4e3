/** Event-time settings shared by the jobs; every job reads them from here, not from constants of its own. */
export interface EventTimeSettings {
  /** How far out of order events may arrive before windows close (bounded out-of-orderness). */
  readonly outOfOrdernessMs: number
  /** How long after closing a window still accepts late events (each one a new revision). */
  readonly allowedLatenessMs: number
  /** Provisional results for live views every so often (processing time). */
  readonly earlyFiringMs: number
  readonly idleTimeoutMs: number
}

export const DEFAULT_EVENT_TIME: EventTimeSettings = {
  outOfOrdernessMs: 10_000,
  allowedLatenessMs: 10 * 60_000,
  earlyFiringMs: 1_000,
  idleTimeoutMs: 60_000,
}

/** How long event ids are remembered for deduplication: everything the windows still accept. */
export function deduplicationHorizon(settings: EventTimeSettings, longestWindowMs: number): number {
  return settings.outOfOrdernessMs + settings.allowedLatenessMs + longestWindowMs
}
