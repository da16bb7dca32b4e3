import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { count, sum } from './aggregators.ts'
import { hopping, session, tumbling } from './assigners.ts'
import { WindowOperator } from './operator.ts'
import { type Click, type Step, identity, replacingTable, streamArbitrary } from './test-support.ts'
import type { WindowAssigner } from './types.ts'

/**
 * Property tests against a brute-force oracle. The oracle recomputes every partition's watermark
 * from scratch at each step (no incremental floor, no clamps cached), classifies every event by
 * the rules in README.md, and aggregates the accepted ones directly. The operator must agree on
 * exactly which events are late and, after end of input, on every final value.
 */

class WatermarkOracle {
  private readonly maxima = new Map<number, number>()
  private readonly lastActive = new Map<number, number>()
  private now = -Infinity
  watermark = -Infinity

  constructor(
    private readonly outOfOrdernessMs: number,
    private readonly idleTimeoutMs: number,
  ) {}

  private update(): void {
    const all = [...this.maxima.keys()]
    const active = all.filter((p) => this.now - (this.lastActive.get(p) as number) < this.idleTimeoutMs)
    const watermarks = (ids: number[]) => ids.map((p) => (this.maxima.get(p) as number) - this.outOfOrdernessMs)
    const candidate = active.length > 0 ? Math.min(...watermarks(active)) : all.length > 0 ? Math.max(...watermarks(all)) : -Infinity
    this.watermark = Math.max(this.watermark, candidate)
  }

  tick(now: number): void {
    this.now = Math.max(this.now, now)
    this.update()
  }

  activate(partition: number, hasData: boolean): void {
    if (!this.maxima.has(partition)) {
      this.maxima.set(partition, -Infinity)
      this.lastActive.set(partition, this.now)
    }
    if (hasData) this.lastActive.set(partition, this.now)
    this.update()
  }

  observe(partition: number, time: number): void {
    this.maxima.set(partition, Math.max(this.maxima.get(partition) as number, time))
    this.update()
  }
}

interface Config {
  readonly assigner: WindowAssigner
  readonly outOfOrdernessMs: number
  readonly allowedLatenessMs: number
  readonly idleTimeoutMs: number
  readonly earlyFiringMs: number | undefined
}

function windowsOf(assigner: WindowAssigner, time: number): [number, number][] {
  if (assigner.type === 'session') return [[time, time + assigner.gapMs]]
  const slide = assigner.type === 'tumbling' ? assigner.sizeMs : assigner.slideMs
  const windows: [number, number][] = []
  // Brute force: every grid point k × slide (+ offset) near `time`, kept if the window contains it.
  const first = Math.floor((time - assigner.sizeMs) / slide) - 2
  for (let k = first; k * slide + assigner.offsetMs <= time; k++) {
    const start = k * slide + assigner.offsetMs
    if (start <= time && time < start + assigner.sizeMs) windows.push([start, start + assigner.sizeMs])
  }
  return windows
}

/** Replays the steps through the oracle: which (event, window) pairs are late, and the accepted events. */
function oracle(config: Config, steps: readonly Step[]) {
  const watermarks = new WatermarkOracle(config.outOfOrdernessMs, config.idleTimeoutMs)
  const late = new Set<string>()
  const accepted: { event: Click; start: number; end: number }[] = []
  for (const step of steps) {
    watermarks.tick(step.now)
    if (step.type === 'tick') continue
    watermarks.activate(step.partition, step.events.length > 0)
    for (const event of step.events) {
      const watermark = watermarks.watermark
      for (const [start, end] of windowsOf(config.assigner, event.time)) {
        const isLate =
          config.assigner.type === 'session'
            ? event.time < watermark - config.allowedLatenessMs
            : end + config.allowedLatenessMs <= watermark
        if (isLate) late.add(`${event.id}@${start}`)
        else accepted.push({ event, start, end })
      }
      watermarks.observe(step.partition, event.time)
    }
  }
  return { late, accepted }
}

function expectedAligned(accepted: ReturnType<typeof oracle>['accepted']) {
  const rows = new Map<string, { count: number; total: number }>()
  for (const { event, start, end } of accepted) {
    const id = identity(start, end, event.user)
    const row = rows.get(id) ?? { count: 0, total: 0 }
    row.count++
    row.total += event.value
    rows.set(id, row)
  }
  return rows
}

function expectedSessions(accepted: ReturnType<typeof oracle>['accepted'], gapMs: number) {
  const byUser = new Map<string, Click[]>()
  for (const { event } of accepted) byUser.set(event.user, [...(byUser.get(event.user) ?? []), event])
  const rows = new Map<string, { count: number; total: number }>()
  for (const [user, events] of byUser) {
    events.sort((left, right) => left.time - right.time)
    let start = NaN
    let end = -Infinity
    let current = { count: 0, total: 0 }
    for (const event of events) {
      if (event.time >= end) {
        if (current.count > 0) rows.set(identity(start, end, user), current)
        start = event.time
        current = { count: 0, total: 0 }
      }
      end = Math.max(end, event.time + gapMs)
      current.count++
      current.total += event.value
    }
    if (current.count > 0) rows.set(identity(start, end, user), current)
  }
  return rows
}

function check(config: Config, steps: readonly Step[]): void {
  const operator = new WindowOperator<Click, { count: ReturnType<typeof count<Click>>; total: ReturnType<typeof sum<Click>> }>({
    assigner: config.assigner,
    key: (event) => event.user,
    time: (event) => event.time,
    aggregates: { count: count<Click>(), total: sum<Click>((event) => event.value) },
    outOfOrdernessMs: config.outOfOrdernessMs,
    allowedLatenessMs: config.allowedLatenessMs,
    idleTimeoutMs: config.idleTimeoutMs,
    earlyFiringMs: config.earlyFiringMs,
  })
  const emissions = []
  for (const step of steps) {
    if (step.type === 'batch') emissions.push(...operator.process(step.partition, step.events, step.now))
    else emissions.push(...operator.onProcessingTime(step.now))
  }
  emissions.push(...operator.endOfInput(steps.at(-1)?.now ?? 0))

  const truth = oracle(config, steps)
  const declaredLate = new Set<string>()
  for (const emission of emissions) {
    if (emission.kind === 'late') {
      declaredLate.add(`${emission.event.id}@${emission.windowStart}`)
      expect(emission.latenessMs).toBeGreaterThan(0)
    }
    expect(emission.kind).not.toBe('overflow')
    expect(emission.kind).not.toBe('invalid')
  }
  // Exactly the oracle's late set: nothing on time was dropped, nothing dropped was on time.
  expect([...declaredLate].sort()).toEqual([...truth.late].sort())

  const table = replacingTable(emissions) // throws if revisions ever fail to increase
  const actual = new Map<string, { count: number; total: number }>()
  for (const [id, entry] of table) {
    if (entry.row === null) continue
    expect(entry.row.final).toBe(true)
    expect(entry.row.revision % 2).toBe(1)
    actual.set(id, { count: entry.row.values.count, total: entry.row.values.total })
  }
  const expected =
    config.assigner.type === 'session'
      ? expectedSessions(truth.accepted, config.assigner.gapMs)
      : expectedAligned(truth.accepted)
  expect(Object.fromEntries([...actual].sort())).toEqual(Object.fromEntries([...expected].sort()))

  for (const emission of emissions) {
    if (emission.kind !== 'result') continue
    const row = emission.row
    expect(row.revision % 2).toBe(row.final ? 1 : 0)
    expect(row.timing === 'early').toBe(!row.final)
  }
}

const timing = {
  outOfOrdernessMs: fc.integer({ min: 0, max: 40 }),
  allowedLatenessMs: fc.integer({ min: 0, max: 60 }),
  idleTimeoutMs: fc.integer({ min: 1, max: 300 }),
  earlyFiringMs: fc.option(fc.integer({ min: 10, max: 100 }), { nil: undefined }),
}

describe('window operator against a brute-force oracle', () => {
  it('tumbling and hopping windows: same late set, same final values', () => {
    const assigner = fc.oneof(
      fc.integer({ min: 1, max: 6 }).map((size) => tumbling(size * 10)),
      fc
        .tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 6 }))
        .filter(([size, slide]) => slide <= size)
        .map(([size, slide]) => hopping(size * 10, slide * 10)),
    )
    fc.assert(
      fc.property(fc.record({ assigner, ...timing }), streamArbitrary(), (config, steps) => check(config, steps)),
      { numRuns: 400 },
    )
  })

  it('session windows: same late set, same sessions after merges', () => {
    const assigner = fc.integer({ min: 5, max: 60 }).map((gap) => session(gap))
    fc.assert(
      fc.property(fc.record({ assigner, ...timing }), streamArbitrary(), (config, steps) => check(config, steps)),
      { numRuns: 400 },
    )
  })
})
