import { describe, expect, it } from 'vitest'
import { MAX_NAMED_KEYS, PendingRanges } from './pending-ranges.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T = Date.UTC(2026, 11, 1, 10)
const settings = { quietMs: 5_000, maxWaitMs: 30_000, maxRangeMs: 3 * HOUR }
const ranges = () => new PendingRanges(settings, (stream) => ({ alignMs: stream === 'notification' ? MINUTE : HOUR, beforeMs: 0, afterMs: 0 }))

describe('PendingRanges', () => {
  it('makes a late record\'s whole window pending and merges windows that touch, per stream', () => {
    const pending = ranges()
    pending.add('click', T + 20 * MINUTE, 0, 7, 0)
    pending.add('click', T + HOUR + 5 * MINUTE, 0, 9, 100)
    pending.add('notification', T + 90_500, 0, 8, 200)
    expect(pending.list.map(({ stream, fromMs, toMs, lateRecords }) => ({ stream, fromMs, toMs, lateRecords }))).toEqual([
      { stream: 'click', fromMs: T, toMs: T + 2 * HOUR, lateRecords: 2 },
      { stream: 'notification', fromMs: T + MINUTE, toMs: T + 2 * MINUTE, lateRecords: 1 },
    ])
  })

  it('makes every window a late event reaches pending: hopping windows and sessions before it, the next session after it', () => {
    // Clicks as plan.ts lateReach has them: back by the longer of the gap and the active window, forward by the gap.
    const pending = new PendingRanges(settings, () => ({ alignMs: HOUR, beforeMs: 30 * MINUTE, afterMs: 30 * MINUTE }))
    // Two minutes into the hour: the five-minute windows holding it start in the hour before.
    pending.add('click', T + 2 * MINUTE, 0, 1, 0, 'visitor-a')
    expect(pending.list.map(({ fromMs, toMs }) => [fromMs, toMs])).toEqual([[T - HOUR, T + HOUR]])
    // Forty minutes in: the session it merges with may start in the next hour.
    pending.add('click', T + 40 * MINUTE, 0, 2, 0, 'visitor-b')
    expect(pending.list.map(({ fromMs, toMs, earliestMs }) => [fromMs, toMs, earliestMs])).toEqual([[T - HOUR, T + 2 * HOUR, T + 2 * MINUTE]])
    expect([...pending.list[0]!.keys!]).toEqual(['visitor-a', 'visitor-b'])
  })

  it('names the keys of its late events until there are too many, or one has none', () => {
    const pending = ranges()
    for (let n = 0; n <= MAX_NAMED_KEYS; n++) pending.add('click', T, 0, n, 0, `visitor-${n}`)
    expect(pending.list[0]!.keys).toBeUndefined()
    pending.add('log', T, 0, 1, 0, 'api')
    pending.add('log', T, 0, 2, 0, null)
    expect(pending.list[1]!.keys).toBeUndefined()
  })

  it('keeps a run bounded: a window beyond the longest range starts a range of its own', () => {
    const pending = ranges()
    for (let hour = 0; hour < 5; hour++) pending.add('log', T + hour * HOUR, 0, hour, 0)
    expect(pending.list.map((range) => (range.toMs - range.fromMs) / HOUR)).toEqual([3, 2])
  })

  it('is due once quiet, or once it has waited long enough however busy', () => {
    const pending = ranges()
    pending.add('click', T, 0, 1, 0)
    expect(pending.takeDue(4_999)).toBeUndefined()
    pending.add('click', T, 0, 2, 4_000)
    expect(pending.takeDue(8_999)).toBeUndefined()
    expect(pending.takeDue(9_000)).toMatchObject({ lateRecords: 2 })

    for (let at = 0; at <= 30_000; at += 2_000) pending.add('log', T, 0, at, at)
    expect(pending.takeDue(29_999)).toBeUndefined()
    expect(pending.takeDue(30_000)).toMatchObject({ stream: 'log' })
  })

  it('commits the late topic only below the records of ranges not done, running ones included', () => {
    const pending = ranges()
    pending.add('click', T, 0, 10, 0)
    pending.add('log', T, 0, 12, 0)
    pending.add('log', T, 1, 4, 0)
    expect(pending.committable(new Map([[0, 20], [1, 6]]))).toEqual(new Map([[0, 10], [1, 4]]))
    const running = pending.takeDue(10_000)!
    expect(running.stream).toBe('click')
    expect(pending.committable(new Map([[0, 20], [1, 6]]), running)).toEqual(new Map([[0, 10], [1, 4]]))
    expect(pending.committable(new Map([[0, 20], [1, 6]]))).toEqual(new Map([[0, 12], [1, 4]]))
    pending.takeDue(10_000)
    expect(pending.committable(new Map([[0, 20], [1, 6]]))).toEqual(new Map([[0, 20], [1, 6]]))
    // A failed run waits again, and holds the commit back again.
    pending.putBack(running, 40_000)
    expect(pending.committable(new Map([[0, 20]]))).toEqual(new Map([[0, 10]]))
    expect(pending.takeDue(44_999)).toBeUndefined()
    expect(pending.takeDue(45_000)).toMatchObject({ stream: 'click' })
  })
})
