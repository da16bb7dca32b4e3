import fc from 'fast-check'
import murmurhash from 'murmurhash'
import { describe, expect, it } from 'vitest'
import { avg, count, distinct, max, min, sum } from './aggregators.ts'
import { ByteReader, ByteWriter } from '../state/bytes.ts'
import { HyperLogLog } from '../sketches/hyperloglog.ts'
import { murmur3 } from '../sketches/murmur3.ts'
import { QuantileSketch } from '../sketches/quantile-sketch.ts'
import { approxDistinct, quantiles, topK } from './sketch-aggregators.ts'
import { SpaceSaving } from '../sketches/top-k.ts'
import type { Aggregator } from './types.ts'

function fold<In, Accumulator, Result>(aggregator: Aggregator<In, Accumulator, Result>, events: readonly In[]): Accumulator {
  let accumulator = aggregator.create()
  for (const event of events) accumulator = aggregator.add(accumulator, event)
  return accumulator
}

function bytesOf<In, Accumulator, Result>(aggregator: Aggregator<In, Accumulator, Result>, accumulator: Accumulator): Uint8Array {
  const writer = new ByteWriter()
  aggregator.serialize(accumulator, writer)
  return writer.finish()
}

function roundTrip<In, Accumulator, Result>(aggregator: Aggregator<In, Accumulator, Result>, accumulator: Accumulator): Accumulator {
  const reader = new ByteReader(bytesOf(aggregator, accumulator))
  const restored = aggregator.deserialize(reader)
  expect(reader.done()).toBe(true)
  return restored
}

describe('murmur3', () => {
  it('matches the murmurhash package for any string, including non-ASCII and lone surrogates', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), fc.nat(), (text, seed) => {
        expect(murmur3(text, seed)).toBe(murmurhash.v3(text, seed))
      }),
      { numRuns: 2000 },
    )
  })
})

describe('simple aggregators', () => {
  const values = [3, -1, 7, 7, 0.5]
  const events = values.map((value) => ({ value, visitor: `v${value}` }))
  type E = (typeof events)[number]

  it('compute count, sum, min, max, avg and exact distinct, and merge like concatenation', () => {
    const aggregators = {
      count: count<E>(),
      sum: sum<E>((event) => event.value),
      min: min<E>((event) => event.value),
      max: max<E>((event) => event.value),
      avg: avg<E>((event) => event.value),
      distinct: distinct<E>((event) => event.visitor),
    }
    const expected = { count: 5, sum: 16.5, min: -1, max: 7, avg: 3.3, distinct: 4 }
    for (const [name, aggregator] of Object.entries(aggregators) as [keyof typeof expected, Aggregator<E, unknown, number>][]) {
      const whole = fold(aggregator, events)
      expect(aggregator.result(whole)).toBeCloseTo(expected[name], 10)
      const merged = aggregator.merge(fold(aggregator, events.slice(0, 2)), fold(aggregator, events.slice(2)))
      expect(aggregator.result(merged)).toBeCloseTo(expected[name], 10)
      expect(aggregator.result(roundTrip(aggregator, whole))).toBe(aggregator.result(whole))
    }
  })

  it('serialises exact distinct sets independently of insertion order', () => {
    const aggregator = distinct<string>((value) => value)
    expect(bytesOf(aggregator, fold(aggregator, ['b', 'a', 'c']))).toEqual(bytesOf(aggregator, fold(aggregator, ['c', 'b', 'a'])))
  })
})

describe('HyperLogLog', () => {
  it('is exact-ish for tiny sets and within 3 standard errors for large ones', () => {
    for (const size of [0, 1, 2, 10, 100]) {
      const sketch = new HyperLogLog(12)
      for (let index = 0; index < size; index++) sketch.addString(`visitor-${index}`)
      expect(Math.round(sketch.estimate())).toBe(size)
    }
    const error = 3 * (1.04 / Math.sqrt(4096))
    for (const size of [1_000, 20_000, 200_000]) {
      const sketch = new HyperLogLog(12)
      for (let index = 0; index < size; index++) sketch.addString(`visitor-${index}`)
      expect(Math.abs(sketch.estimate() - size) / size).toBeLessThan(error)
    }
  })

  it('merging equals the sketch of the union, through sparse and dense forms (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 800 }), fc.array(fc.string(), { maxLength: 800 }), (left, right) => {
        const union = new HyperLogLog(8)
        const a = new HyperLogLog(8)
        const b = new HyperLogLog(8)
        for (const item of left) (a.addString(item), union.addString(item))
        for (const item of right) (b.addString(item), union.addString(item))
        a.merge(b)
        expect(a.estimate()).toBe(union.estimate())
        const writer = new ByteWriter()
        union.serialize(writer)
        const restored = HyperLogLog.deserialize(new ByteReader(writer.finish()))
        expect(restored.estimate()).toBe(union.estimate())
        expect(restored.bytes()).toBe(union.bytes())
      }),
      { numRuns: 200 },
    )
  })

  it('approxDistinct keeps per-key sketches small while they are sparse', () => {
    const aggregator = approxDistinct<string>((value) => value, { precision: 14 })
    const small = fold(aggregator, ['a', 'b', 'c'])
    expect(aggregator.result(small)).toBe(3)
    expect(aggregator.bytes?.(small)).toBeLessThan(300) // dense registers at precision 14 would be 16 KB
    expect(aggregator.result(roundTrip(aggregator, small))).toBe(3)
  })
})

describe('quantile sketch (DDSketch)', () => {
  it('answers within the relative accuracy and merges negative values the library would drop', () => {
    const values = Array.from({ length: 10_001 }, (_, index) => index - 2_000) // -2000..8000
    const whole = new QuantileSketch(0.01)
    const left = new QuantileSketch(0.01)
    const right = new QuantileSketch(0.01)
    values.forEach((value, index) => {
      whole.add(value)
      ;(index % 2 === 0 ? left : right).add(value)
    })
    left.merge(right)
    for (const quantile of [0, 0.05, 0.1, 0.5, 0.9, 0.99, 1]) {
      const exact = values[Math.floor(quantile * (values.length - 1))] as number
      expect(Math.abs(whole.quantile(quantile) - exact)).toBeLessThanOrEqual(Math.abs(exact) * 0.01 + 1e-9)
      expect(left.quantile(quantile)).toBe(whole.quantile(quantile))
    }
    expect(whole.quantile(0)).toBe(-2000)
    expect(whole.quantile(1)).toBe(8000)
  })

  it('round-trips through bytes exactly, including min and max', () => {
    const aggregator = quantiles<number>((value) => value, [0, 0.5, 0.999])
    const sketch = fold(aggregator, [5, 1, 900, -3, 0, 42])
    const restored = roundTrip(aggregator, sketch)
    expect(aggregator.result(restored)).toEqual(aggregator.result(sketch))
    expect(Object.keys(aggregator.result(sketch))).toEqual(['p0', 'p50', 'p99.9'])
    expect(bytesOf(aggregator, restored)).toEqual(bytesOf(aggregator, sketch))
  })
})

describe('top-k (space-saving)', () => {
  it('finds the heavy hitters of a skewed stream with bounded counters', () => {
    const aggregator = topK<string>((value) => value, 3, { capacity: 12 })
    const stream: string[] = []
    for (let index = 0; index < 5_000; index++) {
      stream.push(index % 2 === 0 ? '/home' : index % 5 === 0 ? '/pricing' : index % 7 === 0 ? '/docs' : `/blog/${index}`)
    }
    const top = aggregator.result(fold(aggregator, stream))
    expect(top.map((item) => item.item)).toEqual(['/home', '/pricing', '/docs'])
    expect(top[0]?.count).toBeGreaterThanOrEqual(2_500)
  })

  it('evicts by content, so a restored sketch continues exactly like the original', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f')), fc.array(fc.constantFrom('a', 'b', 'g', 'h')), (before, after) => {
        const original = new SpaceSaving(3)
        for (const item of before) original.add(item)
        const writer = new ByteWriter()
        original.serialize(writer)
        const restored = SpaceSaving.deserialize(new ByteReader(writer.finish()))
        for (const item of after) (original.add(item), restored.add(item))
        expect(restored.top(3)).toEqual(original.top(3))
      }),
    )
  })
})

describe('custom aggregators', () => {
  it('plug into the operator through the same small interface, snapshots included', async () => {
    const { WindowOperator } = await import('./operator.ts')
    const { tumbling } = await import('./assigners.ts')
    // Bounce detection: did this visitor view exactly one page in the window?
    const pagesSeen: Aggregator<{ time: number; page: string }, string[], boolean> = {
      kind: 'bounced',
      create: () => [],
      add: (pages, event) => (pages.includes(event.page) ? pages : [...pages, event.page].sort()),
      merge: (into, from) => [...new Set([...into, ...from])].sort(),
      result: (pages) => pages.length === 1,
      serialize: (pages, writer) => writer.text(JSON.stringify(pages)),
      deserialize: (reader) => JSON.parse(reader.text()) as string[],
      bytes: (pages) => 64 + pages.length * 32,
    }
    const make = () =>
      new WindowOperator({
        assigner: tumbling(100),
        key: () => 'visitor',
        time: (event: { time: number; page: string }) => event.time,
        aggregates: { bounced: pagesSeen, views: count() },
        outOfOrdernessMs: 0,
        allowedLatenessMs: 0,
        idleTimeoutMs: 1_000,
      })
    const first = make()
    first.process(0, [{ time: 1, page: '/a' }, { time: 2, page: '/a' }], 0)
    const second = make()
    expect(second.restore(first.snapshot())).toEqual({ ok: true })
    const out = second.process(0, [{ time: 150, page: '/b' }], 1)
    expect(out).toEqual([
      {
        kind: 'result',
        row: { windowStart: 0, windowEnd: 100, key: 'visitor', values: { bounced: true, views: 2 }, revision: 5, final: true, timing: 'final' },
      },
    ])
  })
})
