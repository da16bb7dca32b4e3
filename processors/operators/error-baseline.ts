import type { RestoreResult } from '../job.ts'

const MINUTE = 60_000

export interface BaselineSettings {
  /** Weight of the newest minute in the baseline, 0 < alpha ≤ 1. */
  readonly baselineAlpha: number
  /** Minutes with at least `minimumLines` lines folded in before a service is judged. */
  readonly warmupMinutes: number
  /** Fewer lines than this in a minute: too noisy to judge (still folded into the baseline). */
  readonly minimumLines: number
  /** A minute is 'up' when its error rate exceeds factor × baseline + rateFloor. */
  readonly anomalyFactor: number
  /** Absolute error-rate margin, so a baseline of 0 does not alert on a single error. */
  readonly rateFloor: number
  /** A service silent this long starts over (warm-up again); also bounds the state. */
  readonly forgetAfterMinutes: number
}

export const DEFAULT_BASELINE: BaselineSettings = {
  baselineAlpha: 0.3,
  warmupMinutes: 5,
  minimumLines: 20,
  anomalyFactor: 3,
  rateFloor: 0.05,
  forgetAfterMinutes: 24 * 60,
}

export function validateBaselineSettings(settings: BaselineSettings): void {
  if (!(settings.baselineAlpha > 0 && settings.baselineAlpha <= 1)) throw new RangeError(`baselineAlpha must be in (0, 1], got ${settings.baselineAlpha}`)
  if (!(settings.anomalyFactor > 1)) throw new RangeError(`anomalyFactor must be > 1, got ${settings.anomalyFactor}`)
  if (!(settings.rateFloor >= 0)) throw new RangeError(`rateFloor must be >= 0, got ${settings.rateFloor}`)
  if (!(settings.warmupMinutes >= 0 && settings.minimumLines >= 1 && settings.forgetAfterMinutes >= 1)) {
    throw new RangeError('warmupMinutes must be >= 0, minimumLines and forgetAfterMinutes >= 1')
  }
}

export interface MinuteJudgement {
  readonly minute: number
  readonly lines: number
  readonly errors: number
  readonly errorRate: number
  /** The baseline the minute was compared with (before folding the minute in). */
  readonly baseline: number
  readonly direction: 'up' | 'down'
}

/**
 * Per-service state. The baseline is a ratio of two exponentially weighted sums, errors / lines,
 * decayed per minute of event time: a volume-weighted moving average of the error rate.
 */
interface Baseline {
  errors: number
  lines: number
  /** Start of the newest minute folded in. */
  minute: number
  /** Minutes with enough lines folded in so far; judging starts at warmupMinutes. */
  judgeable: number
  /** An 'up' was reported and no 'down' since. */
  elevated: boolean
}

/**
 * Error-rate baselines per service, fed with the final per-minute totals in window order.
 *
 * Quiet minutes (no lines, hence no window and no call) advance the baseline lazily: the next
 * minute decays both sums by (1 − alpha) for every minute since the last one. Both sums shrink by
 * the same factor, so silence leaves the expected error rate unchanged — a service that goes quiet
 * is not "recovered" or "broken" by being quiet — while its history counts less against the next
 * minute, as with any time-decayed average. After `forgetAfterMinutes` of silence (or once the
 * decay underflows) the service starts over with a new warm-up. Weighting by volume means a
 * minute with 3 lines barely moves a baseline built on thousands.
 */
export class ErrorRateBaselines {
  private readonly baselines = new Map<string, Baseline>()
  private newestMinute = Number.NEGATIVE_INFINITY

  constructor(private readonly settings: BaselineSettings) {}

  get size(): number {
    return this.baselines.size
  }

  /** Folds in one service's final minute; returns the judgement when the minute is anomalous. */
  observe(service: string, minute: number, lines: number, errors: number): MinuteJudgement | undefined {
    const { baselineAlpha: alpha, anomalyFactor: factor } = this.settings
    this.forgetSilent(minute)
    let state = this.baselines.get(service)
    if (state !== undefined && minute <= state.minute) return undefined // a minute is judged once
    const decay = state === undefined ? 0 : (1 - alpha) ** ((minute - state.minute) / MINUTE)
    if (state !== undefined && state.lines * decay === 0) state = undefined // history decayed away
    const baseline = state === undefined ? 0 : state.errors / state.lines
    const errorRate = errors / lines
    let judgement: MinuteJudgement | undefined
    if (state !== undefined && state.judgeable >= this.settings.warmupMinutes && lines >= this.settings.minimumLines) {
      if (errorRate > factor * baseline + this.settings.rateFloor) {
        judgement = { minute, lines, errors, errorRate, baseline, direction: 'up' }
        state.elevated = true
      } else if (state.elevated && errorRate < baseline / factor) {
        judgement = { minute, lines, errors, errorRate, baseline, direction: 'down' }
        state.elevated = false
      }
    }
    const next: Baseline = state ?? { errors: 0, lines: 0, minute, judgeable: 0, elevated: false }
    // Starting from zero sums makes errors / lines the properly normalised weighted mean at once.
    next.errors = next.errors * decay + alpha * errors
    next.lines = next.lines * decay + alpha * lines
    next.minute = minute
    if (lines >= this.settings.minimumLines) next.judgeable += 1
    this.baselines.set(service, next)
    return judgement
  }

  /** Drops services silent for longer than the horizon; the scan runs once per new minute. */
  private forgetSilent(minute: number): void {
    if (minute <= this.newestMinute) return
    this.newestMinute = minute
    const cutoff = minute - this.settings.forgetAfterMinutes * MINUTE
    for (const [service, state] of this.baselines) if (state.minute < cutoff) this.baselines.delete(service)
  }

  snapshot(): Uint8Array {
    // Sorted by service and with fields in a fixed order, so equal state gives equal bytes.
    const entries = [...this.baselines]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([service, s]) => [service, s.errors, s.lines, s.minute, s.judgeable, s.elevated ? 1 : 0])
    return new TextEncoder().encode(JSON.stringify({ newestMinute: Number.isFinite(this.newestMinute) ? this.newestMinute : null, entries }))
  }

  restore(bytes: Uint8Array): RestoreResult {
    this.baselines.clear()
    this.newestMinute = Number.NEGATIVE_INFINITY
    try {
      const state = JSON.parse(new TextDecoder().decode(bytes)) as { newestMinute: number | null; entries: Array<[string, number, number, number, number, number]> }
      for (const [service, errors, lines, minute, judgeable, elevated] of state.entries) {
        this.baselines.set(service, { errors, lines, minute, judgeable, elevated: elevated === 1 })
      }
      this.newestMinute = state.newestMinute ?? Number.NEGATIVE_INFINITY
      return { ok: true }
    } catch (error) {
      this.baselines.clear()
      return { ok: false, reason: `error baselines snapshot: ${(error as Error).message}` }
    }
  }
}
