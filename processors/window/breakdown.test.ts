import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { count, distinct, type DistinctItems } from './aggregators.ts'
import { tumbling } from './assigners.ts'
import { dimensionBreakdown, writeBreakdownEntries, type BreakdownEntry } from './breakdown.ts'
import { WindowOperator } from './operator.ts'
import { regroupAlignedSnapshot } from './regroup-snapshot.ts'
import { type Click, type Step, streamArbitrary } from './test-support.ts'
import { ByteReader, ByteWriter } from '../state/bytes.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { PartitionStateStore } from '../state/store.ts'
import type { Emission } from './types.ts'

/**
 * The breakdown must give exactly the rows that one window state per (group, dimension, value)
 * gives: same values, same revisions, same early/final/late rows in the same order. The oracle is
 * that per-value operator, built from the plain count and distinct aggregators.
 */

const DIMENSIONS = ['total', 'user', 'band'] as const
const TIMING = { outOfOrdernessMs: 20, allowedLatenessMs: 60, idleTimeoutMs: 500, earlyFiringMs: 30 }
const groupOf = (click: Click) => `g${Math.abs(click.value) % 2}`
const valuesOf = (click: Click): string[] => ['', click.user, String(Math.abs(click.value) % 3)]

const perValueShape = { assigner: tumbling(100), aggregates: { events: count<Click>(), visitors: distinct((click: Click) => click.user) } }
const breakdownShape = {
  assigner: tumbling(100),
  aggregates: {
    breakdown: dimensionBreakdown<Click>({
      dimensions: DIMENSIONS,
      values: (click, values) => valuesOf(click).forEach((value, index) => (values[index] = value)),
      distinct: (click) => click.user,
    }),
  },
}

interface Hit extends Click {
  readonly key: string
}

/** The per-value oracle sees one hit per event and dimension, as the clickstream job once fed it. */
const perValueOperator = () => new WindowOperator<Hit, typeof perValueShape.aggregates>({ ...TIMING, ...perValueShape, key: (hit) => hit.key, time: (hit) => hit.time })
const breakdownOperator = (store?: PartitionStateStore) =>
  new WindowOperator<Click, typeof breakdownShape.aggregates>({ ...TIMING, ...breakdownShape, key: groupOf, time: (click) => click.time, ...(store === undefined ? {} : { storage: { store, prefix: 'b/' } }) })
const hitsOf = (events: readonly Click[]): Hit[] => events.flatMap((click) => valuesOf(click).map((value, index) => ({ ...click, key: `${groupOf(click)}\t${DIMENSIONS[index]}\t${value}` })))

type Flat = { start: number; end: number; key: string; count: number; distinct: number; revision: number; timing: string }

function flatPerValue(out: Emission<Hit, { events: number; visitors: number }>[]): Flat[] {
  return out.flatMap((emission) =>
    emission.kind === 'result'
      ? [{ start: emission.row.windowStart, end: emission.row.windowEnd, key: emission.row.key, count: emission.row.values.events, distinct: emission.row.values.visitors, revision: emission.row.revision, timing: emission.row.timing }]
      : [],
  )
}

function flatBreakdown(out: Emission<Click, { breakdown: BreakdownEntry[] }>[]): Flat[] {
  return out.flatMap((emission) =>
    emission.kind === 'result'
      ? emission.row.values.breakdown.map((entry) => ({
          start: emission.row.windowStart, end: emission.row.windowEnd, key: `${emission.row.key}\t${DIMENSIONS[entry.dimension]}\t${entry.value}`,
          count: entry.count, distinct: entry.distinct, revision: entry.revision, timing: emission.row.timing,
        }))
      : [],
  )
}

const lateIds = (out: Emission<Click, unknown>[]) => [...new Set(out.flatMap((emission) => (emission.kind === 'late' ? [emission.event.id] : [])))].sort((a, b) => a - b)

function run<In, Values>(operator: { process(p: number, e: readonly In[], n: number): Emission<In, Values>[]; onProcessingTime(n: number): Emission<In, Values>[] }, steps: readonly Step[], input: (events: readonly Click[]) => In[]) {
  const out: Emission<In, Values>[] = []
  for (const step of steps) out.push(...(step.type === 'batch' ? operator.process(step.partition, input(step.events), step.now) : operator.onProcessingTime(step.now)))
  return out
}

describe('dimensionBreakdown', () => {
  it('gives the rows of one window state per (group, dimension, value), early, final and late', () => {
    fc.assert(
      fc.property(streamArbitrary({ users: 5 }), (steps) => {
        const oracle = perValueOperator()
        const expected = run(oracle, steps, hitsOf)
        const actual = run(breakdownOperator(), steps, (events) => [...events])
        expect(flatBreakdown(actual)).toEqual(flatPerValue(expected))
        expect(lateIds(actual)).toEqual(lateIds(expected as unknown as Emission<Click, unknown>[]))
      }),
      { numRuns: 150 },
    )
  })

  it('continues from its own snapshot as if never stopped', () => {
    fc.assert(
      fc.property(streamArbitrary({ users: 5 }), fc.nat(), (steps, cutSeed) => {
        const cut = cutSeed % (steps.length + 1)
        const never = breakdownOperator()
        const expected = run(never, steps, (events) => [...events])
        const first = breakdownOperator()
        const before = run(first, steps.slice(0, cut), (events) => [...events])
        const restored = breakdownOperator()
        expect(restored.restore(first.snapshot())).toEqual({ ok: true })
        const after = run(restored, steps.slice(cut), (events) => [...events])
        expect(flatBreakdown([...before, ...after])).toEqual(flatBreakdown(expected))
        expect(restored.snapshot()).toEqual(never.snapshot())
      }),
      { numRuns: 100 },
    )
  })

  it('takes over a per-value snapshot regrouped by group, as if it had run all along', () => {
    fc.assert(
      fc.property(streamArbitrary({ users: 5 }), fc.nat(), (steps, cutSeed) => {
        const cut = cutSeed % (steps.length + 1)
        const expected = run(perValueOperator(), steps, hitsOf)
        const old = perValueOperator()
        const before = run(old, steps.slice(0, cut), hitsOf)
        const converted = regroupAlignedSnapshot(old.snapshot(), perValueShape, breakdownShape, {
          group: (key) => key.split('\t')[0]!,
          fold: (states) => {
            const byDimension = DIMENSIONS.map(() => new Map<string, { count: number; dirty: boolean; distinct: Set<string> }>())
            for (const state of states) {
              const [, dimension, value] = state.key.split('\t')
              const [events, { items: visitors }] = state.accumulators as [number, DistinctItems]
              byDimension[DIMENSIONS.indexOf(dimension as (typeof DIMENSIONS)[number])]!.set(value!, { count: events, dirty: state.dirty, distinct: visitors })
            }
            return { events: Math.max(...states.map((state) => (state.key.split('\t')[1] === 'total' ? state.events : 0))), write: (writer) => writeBreakdownEntries(byDimension, writer) }
          },
        })
        expect(converted).not.toBeNull()
        const restored = breakdownOperator()
        expect(restored.restore(converted!)).toEqual({ ok: true })
        const after = run(restored, steps.slice(cut), (events) => [...events])
        expect([...flatPerValue(before), ...flatBreakdown(after)]).toEqual(flatPerValue(expected))
      }),
      { numRuns: 100 },
    )
  })

  it('refuses to regroup a snapshot of another shape, leaving it to restore as it is', () => {
    const own = breakdownOperator().snapshot()
    expect(regroupAlignedSnapshot(own, perValueShape, breakdownShape, { group: (key) => key, fold: () => ({ events: 0, write: () => {} }) })).toBeNull()
    expect(regroupAlignedSnapshot(new Uint8Array([1, 2]), perValueShape, breakdownShape, { group: (key) => key, fold: () => ({ events: 0, write: () => {} }) })).toBeNull()
  })

  it('continues from checkpoints in a state store, whose records hold what changed, as if never stopped', () => {
    let changesRead = 0
    fc.assert(
      fc.property(streamArbitrary({ users: 5 }), fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), (steps, rawCheckpoints, cutSeed) => {
        const checkpoints = new Set(rawCheckpoints.map((at) => at % (steps.length + 1)))
        const cut = cutSeed % (steps.length + 1)
        const expected = run(breakdownOperator(), steps, (events) => [...events])
        const store = createHeapStateStore().partition('breakdown', 0)
        let current = breakdownOperator(store)
        const out: Emission<Click, { breakdown: BreakdownEntry[] }>[] = []
        const checkpoint = () => {
          const entries = new Map<string, Uint8Array | null>()
          current.changes(entries)
          const whole = current.snapshot()
          store.stage({ nextOffset: 0, savedAt: 0, whole, entries })
          return whole
        }
        steps.forEach((step, index) => {
          if (index === cut) {
            const whole = checkpoint()
            // Records after the first of a state are changes: the restore below folds them in.
            changesRead += [...store.range('b/o/')].filter((entry) => !entry.key.endsWith('/00000000')).length
            current = breakdownOperator(store)
            expect(current.restore(whole)).toEqual({ ok: true })
          } else if (checkpoints.has(index)) checkpoint()
          out.push(...run(current, [step], (events) => [...events]))
        })
        expect(flatBreakdown(out)).toEqual(flatBreakdown(expected))
      }),
      { numRuns: 150 },
    )
    expect(changesRead).toBeGreaterThan(0)
  })

  it('writes what changed since it was last written, which read back gives the same breakdown', () => {
    const aggregator = breakdownShape.aggregates.breakdown
    const changes = aggregator.changes!
    const click = fc.record({ id: fc.nat(), time: fc.constant(0), user: fc.constantFrom('u1', 'u2', 'u3', 'é', 'a\u0000b'), value: fc.integer({ min: -5, max: 5 }) })
    const operation = fc.oneof(click, fc.constantFrom('early' as const, 'final' as const, 'write' as const))
    const bytes = (write: (writer: ByteWriter) => void) => {
      const writer = new ByteWriter()
      write(writer)
      return writer.finish()
    }
    fc.assert(
      fc.property(fc.array(click, { maxLength: 10 }), fc.array(operation, { maxLength: 40 }), (first, operations) => {
        const breakdown = aggregator.create()
        for (const each of first) aggregator.add(breakdown, each)
        const whole = bytes((writer) => aggregator.serialize(breakdown, writer))
        const records: Uint8Array[] = []
        for (const operation of [...operations, 'write' as const]) {
          if (operation === 'write') records.push(bytes((writer) => changes.write(breakdown, writer)))
          else if (operation === 'early' || operation === 'final') aggregator.result(breakdown, operation)
          else aggregator.add(breakdown, operation)
        }
        let read = aggregator.deserialize(new ByteReader(whole))
        for (const record of records) read = changes.apply(read, new ByteReader(record))
        // Same entries, counts, visitors and dirty flags: the same bytes whole, the same next early row.
        expect(Buffer.from(bytes((writer) => aggregator.serialize(read, writer))).equals(Buffer.from(bytes((writer) => aggregator.serialize(breakdown, writer))))).toBe(true)
        expect(aggregator.bytes!(read)).toBe(aggregator.bytes!(breakdown))
        expect(aggregator.result(read, 'early')).toEqual(aggregator.result(breakdown, 'early'))
      }),
      { numRuns: 300 },
    )
    // A visitor new to the window is written once, as in the whole layout, not once per dimension;
    // and with nothing changed a record is two empty counts.
    const breakdown = aggregator.create()
    aggregator.serialize(breakdown, new ByteWriter())
    for (let id = 0; id < 100; id++) aggregator.add(breakdown, { id, time: 0, user: `visitor-${id}`, value: id })
    const record = bytes((writer) => changes.write(breakdown, writer))
    expect(record.length).toBeLessThan(1.25 * bytes((writer) => aggregator.serialize(breakdown, writer)).length)
    expect(bytes((writer) => changes.write(breakdown, writer)).length).toBe(8)
  })

  it('charges every new entry and every new distinct item to the state bound', () => {
    const aggregator = breakdownShape.aggregates.breakdown
    const breakdown = aggregator.create()
    const empty = aggregator.bytes!(breakdown)
    aggregator.add(breakdown, { id: 1, time: 0, user: 'u1', value: 1 })
    const one = aggregator.bytes!(breakdown)
    aggregator.add(breakdown, { id: 2, time: 0, user: 'u1', value: 1 })
    expect(aggregator.bytes!(breakdown)).toBe(one)
    aggregator.add(breakdown, { id: 3, time: 0, user: 'u2', value: 1 })
    expect(aggregator.bytes!(breakdown)).toBeGreaterThan(one)
    expect(one).toBeGreaterThan(empty)
  })

  it('writes each distinct item once, and reads what the plain layout wrote as the same breakdown', () => {
    const aggregator = breakdownShape.aggregates.breakdown
    const click = fc.record({ id: fc.nat(), time: fc.constant(0), user: fc.constantFrom('u1', 'u2', 'é', '\u{1F600}', 'a\u0000b', ''), value: fc.integer({ min: -5, max: 5 }) })
    fc.assert(
      fc.property(fc.array(click, { maxLength: 40 }), (clicks) => {
        const breakdown = aggregator.create()
        for (const each of clicks) aggregator.add(breakdown, each)
        const bytes = (write: (writer: ByteWriter) => void) => {
          const writer = new ByteWriter()
          write(writer)
          return Buffer.from(writer.finish())
        }
        const interned = bytes((writer) => aggregator.serialize(breakdown, writer))
        const plain = bytes((writer) => writeBreakdownEntries(breakdown.byDimension, writer))
        for (const written of [interned, plain]) {
          const read = aggregator.deserialize(new ByteReader(written))
          expect(bytes((writer) => aggregator.serialize(read, writer)).equals(interned)).toBe(true)
          expect(aggregator.result(read, 'early')).toEqual(aggregator.result(aggregator.deserialize(new ByteReader(interned)), 'early'))
          expect(aggregator.bytes!(read)).toBe(aggregator.bytes!(breakdown))
        }
      }),
      { numRuns: 200 },
    )
    // Each visitor is in an entry of every dimension: once by name, then by index.
    const many = aggregator.create()
    for (let id = 0; id < 300; id++) aggregator.add(many, { id, time: 0, user: `visitor-${id.toString(36).padStart(8, '0')}`, value: id })
    const size = (write: (writer: ByteWriter) => void) => {
      const writer = new ByteWriter()
      write(writer)
      return writer.finish().length
    }
    expect(size((writer) => aggregator.serialize(many, writer))).toBeLessThan(0.75 * size((writer) => writeBreakdownEntries(many.byDimension, writer)))
  })
})
