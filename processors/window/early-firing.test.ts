import { describe, expect, it } from 'vitest'
import { count, sum } from './aggregators.ts'
import { tumbling } from './assigners.ts'
import { WindowOperator } from './operator.ts'
import type { Emission } from './types.ts'

/** A virtual clock: tests move processing time by hand and nothing ever waits. */
class VirtualClock {
  constructor(public now = 0) {}
  advance(ms: number): number {
    this.now += ms
    return this.now
  }
}

interface Hit {
  readonly page: string
  readonly time: number
}

function activeVisitors(lateness = 60_000) {
  return new WindowOperator<Hit, { hits: ReturnType<typeof count>; weight: ReturnType<typeof sum<Hit>> }>({
    assigner: tumbling(5 * 60_000),
    key: (hit) => hit.page,
    time: (hit) => hit.time,
    aggregates: { hits: count(), weight: sum<Hit>(() => 1) },
    outOfOrdernessMs: 5_000,
    allowedLatenessMs: lateness,
    idleTimeoutMs: 30_000,
    earlyFiringMs: 1_000,
  })
}

type Out = Emission<Hit, { hits: number; weight: number }>
const rows = (emissions: Out[]) =>
  emissions.flatMap((emission) => (emission.kind === 'result' ? [emission.row] : []))
const summary = (emissions: Out[]) =>
  rows(emissions).map((row) => `${row.timing} ${row.key}@${row.windowStart} hits=${row.values.hits} rev=${row.revision}`)

describe('early firings on a virtual clock', () => {
  it('fires provisional rows on the processing-time grid, only for windows that changed', () => {
    const clock = new VirtualClock(10_000)
    const operator = activeVisitors()
    operator.process(0, [{ page: '/a', time: 1_000 }, { page: '/b', time: 2_000 }], clock.now)
    expect(summary(operator.onProcessingTime(clock.advance(500)))).toEqual(['early /a@0 hits=1 rev=2', 'early /b@0 hits=1 rev=2'])
    // 10,500 → next grid point is 11,000: nothing before it, even with new data.
    operator.process(0, [{ page: '/a', time: 3_000 }], clock.advance(100))
    expect(operator.onProcessingTime(clock.advance(100))).toEqual([])
    expect(summary(operator.onProcessingTime(clock.advance(300)))).toEqual(['early /a@0 hits=2 rev=4'])
    // Nothing changed since: no repeats, however often the clock ticks.
    expect(operator.onProcessingTime(clock.advance(1_000))).toEqual([])
    expect(operator.onProcessingTime(clock.advance(5_000))).toEqual([])
  })

  it('the final row outranks every provisional row, and no provisional row follows it', () => {
    const clock = new VirtualClock(0)
    const operator = activeVisitors()
    const all: Out[] = []
    for (let second = 0; second < 400; second++) {
      all.push(...operator.process(0, [{ page: '/a', time: second * 1_000 }], clock.advance(1_000)))
      all.push(...operator.onProcessingTime(clock.now))
    }
    const window = rows(all).filter((row) => row.windowStart === 0)
    const final = window.find((row) => row.timing === 'final')
    expect(final).toBeDefined()
    const early = window.filter((row) => row.timing === 'early')
    expect(early.length).toBeGreaterThan(100)
    for (const row of early) expect(row.revision).toBeLessThan(final?.revision as number)
    expect(window.at(-1)).toBe(final)
    const revisions = window.map((row) => row.revision)
    expect(revisions).toEqual([...revisions].sort((left, right) => left - right))
    expect(final?.values.hits).toBe(300)
  })

  it('late rows within the allowed lateness carry increasing odd revisions, then the window is dropped', () => {
    const operator = activeVisitors(60_000)
    operator.process(0, [{ page: '/a', time: 1_000 }], 0)
    const final = summary(operator.process(0, [{ page: '/z', time: 310_000 }], 1)) // watermark 305,000
    expect(final).toEqual(['final /a@0 hits=1 rev=3'])
    expect(summary(operator.process(0, [{ page: '/a', time: 2_000 }, { page: '/a', time: 3_000 }], 2))).toEqual([
      'late /a@0 hits=3 rev=7',
    ])
    expect(summary(operator.process(0, [{ page: '/a', time: 4_000 }], 3))).toEqual(['late /a@0 hits=4 rev=9'])
    // Provisional rows are for open windows only; a late update is never early.
    expect(operator.onProcessingTime(10_000).filter((emission) => emission.kind === 'result' && emission.row.windowStart === 0)).toEqual([])
    operator.process(0, [{ page: '/z', time: 370_000 }], 4) // watermark 365,000 ≥ 300,000 + 60,000
    const dropped = operator.process(0, [{ page: '/a', time: 5_000 }], 5)
    expect(dropped).toEqual([
      {
        kind: 'late',
        event: { page: '/a', time: 5_000 },
        reason: 'beyond-allowed-lateness',
        latenessMs: 360_000,
        windowStart: 0,
        windowEnd: 300_000,
        watermark: 365_000,
      },
    ])
    expect(operator.stats().late).toBe(1)
  })

  it('idle partitions and early firings both come from the same injected clock', () => {
    const clock = new VirtualClock(0)
    const operator = activeVisitors()
    operator.process(1, [], clock.now) // a quiet partition we own
    operator.process(0, [{ page: '/a', time: 1_000 }, { page: '/a', time: 400_000 }], clock.now)
    expect(summary(operator.onProcessingTime(clock.advance(1_000)))).toEqual([
      'early /a@0 hits=1 rev=2',
      'early /a@300000 hits=1 rev=2',
    ])
    // At 30 s partition 1 is idle, the watermark jumps to 395,000 and the first window fires.
    expect(summary(operator.onProcessingTime(clock.advance(29_000)))).toEqual(['final /a@0 hits=1 rev=3'])
  })
})
