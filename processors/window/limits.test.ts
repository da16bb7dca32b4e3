import { describe, expect, it } from 'vitest'
import { count, distinct } from './aggregators.ts'
import { session, tumbling } from './assigners.ts'
import { WindowOperator } from './operator.ts'
import type { AggregateSpec, StateLimits, WindowAssigner } from './types.ts'

interface Event {
  readonly key: string
  readonly time: number
  readonly visitor?: string
}

function operator<Aggregates extends AggregateSpec<Event>>(
  aggregates: Aggregates,
  limits: Partial<StateLimits>,
  assigner: WindowAssigner = tumbling(1000),
) {
  return new WindowOperator<Event, Aggregates>({
    assigner,
    key: (event) => event.key,
    time: (event) => event.time,
    aggregates,
    outOfOrdernessMs: 0,
    allowedLatenessMs: 0,
    idleTimeoutMs: 60_000,
    limits,
  })
}

describe('state bounds', () => {
  it('rejects a new key beyond keys-per-window to the overflow output and counts it', () => {
    const windows = operator({ count: count<Event>() }, { maxKeysPerWindow: 2 })
    const out = windows.process(0, [
      { key: 'a', time: 10 },
      { key: 'b', time: 20 },
      { key: 'c', time: 30 },
      { key: 'a', time: 40 }, // existing keys still update
      { key: 'c', time: 1010 }, // a new window has room again
    ], 0)
    expect(out).toEqual([
      { kind: 'overflow', event: { key: 'c', time: 30 }, reason: 'keys-per-window', key: 'c', windowStart: 0, windowEnd: 1000 },
      ...['a', 'b'].map((key) => expect.objectContaining({ kind: 'result', row: expect.objectContaining({ key, windowStart: 0 }) })),
    ])
    const rows = out.flatMap((emission) => (emission.kind === 'result' ? [emission.row] : []))
    expect(rows.map((row) => row.values.count)).toEqual([2, 1])
    expect(windows.stats().overflowKeysPerWindow).toBe(1)
  })

  it('rejects new state once the estimated bytes would pass the limit, and accepts again after purges', () => {
    const windows = operator({ count: count<Event>() }, { maxStateBytes: 2_000 })
    const keys = Array.from({ length: 20 }, (_, index) => ({ key: `key-${index}`, time: 10 }))
    const out = windows.process(0, keys, 0)
    const overflow = out.filter((emission) => emission.kind === 'overflow')
    expect(overflow.length).toBeGreaterThan(0)
    expect(overflow.every((emission) => emission.kind === 'overflow' && emission.reason === 'state-bytes')).toBe(true)
    const stats = windows.stats()
    expect(stats.overflowStateBytes).toBe(overflow.length)
    expect(stats.stateBytes).toBeLessThanOrEqual(2_000)
    expect(stats.keys).toBe(20 - overflow.length)
    // Updates of existing fixed-size state are still applied at the limit: they cannot grow memory.
    expect(windows.process(0, [{ key: 'key-0', time: 20 }], 0)).toEqual([])
    // Moving the watermark past the window purges it; the same keys fit again in the next window.
    windows.process(0, [{ key: 'key-0', time: 1500 }], 0)
    expect(windows.stats().keys).toBe(1)
    expect(windows.process(0, [{ key: 'key-1', time: 1600 }], 0)).toEqual([])
  })

  it('with a variable-size aggregate, nothing is admitted at the byte limit: no silent growth', () => {
    const windows = operator({ visitors: distinct<Event>((event) => event.visitor ?? '') }, { maxStateBytes: 3_000 })
    const events = Array.from({ length: 200 }, (_, index) => ({ key: 'page', time: 10, visitor: `v${index}` }))
    const out = windows.process(0, events, 0)
    const overflow = out.filter((emission) => emission.kind === 'overflow')
    expect(overflow.length).toBeGreaterThan(150)
    const stats = windows.stats()
    expect(stats.overflowStateBytes).toBe(overflow.length)
    // Bounded overshoot: at most one event's growth beyond the limit.
    expect(stats.stateBytes).toBeLessThan(3_000 + 100)
  })

  it('bounds keys with open sessions', () => {
    const windows = operator({ count: count<Event>() }, { maxKeysPerWindow: 2 }, session(100))
    const out = windows.process(0, [
      { key: 'a', time: 10 },
      { key: 'b', time: 10 },
      { key: 'c', time: 10 },
      { key: 'a', time: 20 },
    ], 0)
    expect(out.map((emission) => emission.kind)).toEqual(['overflow'])
    expect(windows.stats().overflowKeysPerWindow).toBe(1)
  })
})

describe('invalid input never throws', () => {
  it('reports events without a usable time or key', () => {
    const windows = operator({ count: count<Event>() }, {})
    const bad = [
      { key: 'a', time: Number.NaN },
      { key: 'a', time: Infinity },
      { key: 42 as unknown as string, time: 5 },
    ]
    expect(windows.process(0, bad, 0).map((emission) => emission.kind === 'invalid' && emission.reason)).toEqual([
      'invalid-event-time',
      'invalid-event-time',
      'invalid-key',
    ])
    expect(windows.stats().invalid).toBe(3)
  })
})
