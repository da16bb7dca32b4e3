import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { count } from './aggregators.ts'
import { tumbling } from './assigners.ts'
import { WindowOperator } from './operator.ts'
import { WatermarkTracker } from './watermarks.ts'

function feed(tracker: WatermarkTracker, partition: number, times: number[], now: number): void {
  tracker.tick(now)
  const clock = tracker.activate(partition, times.length > 0)
  for (const time of times) tracker.observe(clock, time)
}

describe('watermarks', () => {
  it('is the max event time minus the out-of-orderness bound, per partition', () => {
    const tracker = new WatermarkTracker(100, 10_000)
    feed(tracker, 0, [1000, 1500, 1200], 0)
    expect(tracker.watermark).toBe(1400)
  })

  it('takes the minimum over active partitions', () => {
    const tracker = new WatermarkTracker(0, 10_000)
    feed(tracker, 0, [5000], 0)
    feed(tracker, 1, [2000], 0)
    // Partition 1 arrived after partition 0 pushed the watermark to 5000: it cannot pull it back.
    expect(tracker.watermark).toBe(5000)
    feed(tracker, 0, [9000], 1)
    expect(tracker.watermark).toBe(5000)
    feed(tracker, 1, [7000], 2)
    expect(tracker.watermark).toBe(7000)
  })

  it('a declared but silent partition holds the watermark until its idle timeout', () => {
    const tracker = new WatermarkTracker(0, 1000)
    feed(tracker, 1, [], 0) // partition 1 assigned to us, no data yet
    feed(tracker, 0, [5000], 10)
    expect(tracker.watermark).toBe(-Infinity)
    tracker.tick(999)
    expect(tracker.watermark).toBe(-Infinity)
    tracker.tick(1000) // partition 1 idle for a full timeout: it no longer holds back
    expect(tracker.watermark).toBe(5000)
  })

  it('an idle partition rejoins when data returns, holding further progress but never moving back', () => {
    const tracker = new WatermarkTracker(0, 1000)
    feed(tracker, 0, [1000], 0)
    feed(tracker, 1, [1000], 0)
    feed(tracker, 0, [2000], 500)
    expect(tracker.watermark).toBe(1000)
    feed(tracker, 0, [3000], 1500) // partition 1 silent since 0: idle now
    expect(tracker.watermark).toBe(3000)
    feed(tracker, 1, [1200], 1600) // rejoins far behind
    expect(tracker.watermark).toBe(3000)
    feed(tracker, 0, [6000], 1700) // partition 1 now holds progress back again
    expect(tracker.watermark).toBe(3000)
    feed(tracker, 1, [4000], 1800)
    expect(tracker.watermark).toBe(4000)
  })

  it('when every partition is idle it moves to the most advanced one', () => {
    const tracker = new WatermarkTracker(0, 1000)
    feed(tracker, 0, [1000], 0)
    feed(tracker, 1, [3000], 0)
    expect(tracker.watermark).toBe(1000)
    tracker.tick(5000)
    expect(tracker.watermark).toBe(3000)
  })

  it('never goes backwards, whatever the interleaving (property)', () => {
    const action = fc.record({
      partition: fc.nat(3),
      times: fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 5 }),
      advance: fc.integer({ min: 0, max: 700 }),
      tickOnly: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 1000 }), fc.array(action), (bound, idle, actions) => {
        const tracker = new WatermarkTracker(bound, idle)
        let now = 0
        let previous = tracker.watermark
        for (const step of actions) {
          now += step.advance
          if (step.tickOnly) tracker.tick(now)
          else feed(tracker, step.partition, step.times, now)
          expect(tracker.watermark).toBeGreaterThanOrEqual(previous)
          previous = tracker.watermark
        }
      }),
    )
  })

  it('an idle partition stops holding back window firing in the operator', () => {
    const operator = new WindowOperator<{ time: number }, { count: ReturnType<typeof count> }>({
      assigner: tumbling(1000),
      key: () => 'all',
      time: (event) => event.time,
      aggregates: { count: count() },
      outOfOrdernessMs: 0,
      allowedLatenessMs: 0,
      idleTimeoutMs: 5000,
    })
    expect(operator.process(0, [{ time: 500 }], 0)).toEqual([])
    expect(operator.process(1, [{ time: 100 }], 0)).toEqual([])
    expect(operator.process(0, [{ time: 2500 }], 1000)).toEqual([]) // partition 1 holds at 100
    const fired = operator.onProcessingTime(5000) // partition 1 idle: watermark 2500
    const rows = fired.flatMap((emission) => (emission.kind === 'result' ? [emission.row] : []))
    expect(rows.map((row) => [row.windowStart, row.values.count, row.timing])).toEqual([[0, 2, 'final']])
    expect(operator.watermark).toBe(2500)
  })
})
