import { describe, expect, it } from 'vitest'
import { DEFAULT_BASELINE, ErrorRateBaselines, validateBaselineSettings, type BaselineSettings } from './error-baseline.ts'

const MINUTE = 60_000

function baselines(overrides: Partial<BaselineSettings> = {}) {
  return new ErrorRateBaselines({ ...DEFAULT_BASELINE, ...overrides })
}

/** Feeds minutes [from, to) at `errors` errors per 100 lines; returns the judgements. */
function steady(target: ErrorRateBaselines, service: string, from: number, to: number, errors: number, lines = 100) {
  const judgements = []
  for (let minute = from; minute < to; minute++) {
    const judgement = target.observe(service, minute * MINUTE, lines, errors)
    if (judgement) judgements.push(judgement)
  }
  return judgements
}

describe('error-rate baselines', () => {
  it('does not judge during the warm-up, then reports a spike up and the return down', () => {
    const target = baselines()
    expect(steady(target, 'api', 0, 3, 2)).toEqual([])
    expect(target.observe('api', 3 * MINUTE, 100, 40)).toBeUndefined() // fourth minute: still warming up
    expect(steady(target, 'api', 4, 12, 2)).toEqual([])
    const up = target.observe('api', 12 * MINUTE, 100, 30)
    expect(up).toMatchObject({ minute: 12 * MINUTE, errorRate: 0.3, direction: 'up' })
    expect(up!.baseline).toBeGreaterThan(0.02)
    expect(up!.baseline).toBeLessThan(0.03)
    expect(target.observe('api', 13 * MINUTE, 100, 2)).toMatchObject({ direction: 'down', errorRate: 0.02 })
    expect(target.observe('api', 14 * MINUTE, 100, 2)).toBeUndefined()
  })

  it('needs a floor above a zero baseline, and enough lines to judge', () => {
    const target = baselines()
    steady(target, 'api', 0, 10, 0)
    expect(target.observe('api', 10 * MINUTE, 20, 1)).toBeUndefined() // 5 % is not above 3 × 0 + 5 %
    expect(target.observe('api', 11 * MINUTE, 20, 2)).toMatchObject({ direction: 'up', errorRate: 0.1 })
    expect(target.observe('api', 12 * MINUTE, 19, 19)).toBeUndefined() // all errors, but too few lines
  })

  it('keeps the expected rate through silence and weighs the history less afterwards', () => {
    const target = baselines()
    steady(target, 'api', 0, 10, 2)
    // 30 quiet minutes: a spike right after is still judged against the rate from before.
    expect(target.observe('api', 40 * MINUTE, 100, 30)).toMatchObject({ direction: 'up', baseline: expect.closeTo(0.02, 12) })
    // The spike minute came after a long gap, so it now dominates the baseline: 30 % is the new normal.
    expect(target.observe('api', 41 * MINUTE, 100, 30)).toBeUndefined()
  })

  it('forgets a service silent longer than the horizon and warms it up again', () => {
    const target = baselines({ forgetAfterMinutes: 60 })
    steady(target, 'api', 0, 10, 2)
    steady(target, 'other', 0, 80, 2)
    expect(target.size).toBe(1)
    expect(target.observe('api', 80 * MINUTE, 100, 50)).toBeUndefined()
  })

  it('judges a minute once, and snapshots to equal bytes after restore', () => {
    const target = baselines()
    steady(target, 'b', 0, 8, 2)
    steady(target, 'a', 0, 8, 5)
    expect(target.observe('a', 7 * MINUTE, 100, 90)).toBeUndefined()
    const copy = baselines()
    expect(copy.restore(target.snapshot())).toEqual({ ok: true })
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(target.snapshot()))).toBe(true)
    expect(copy.observe('a', 8 * MINUTE, 100, 60)).toEqual(target.observe('a', 8 * MINUTE, 100, 60))
    expect(copy.restore(new Uint8Array([1, 2]))).toMatchObject({ ok: false })
  })

  it('refuses settings that cannot work', () => {
    expect(() => validateBaselineSettings({ ...DEFAULT_BASELINE, baselineAlpha: 0 })).toThrow(RangeError)
    expect(() => validateBaselineSettings({ ...DEFAULT_BASELINE, anomalyFactor: 1 })).toThrow(RangeError)
  })
})
