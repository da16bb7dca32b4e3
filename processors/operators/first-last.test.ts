import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteReader, ByteWriter } from '../state/bytes.ts'
import { firstBy, lastBy } from './first-last.ts'

interface Event {
  readonly ts: number
  readonly id: string
  readonly page?: { path: string; country: string }
}

const events = fc.array(
  fc.record({ ts: fc.integer({ min: 0, max: 20 }), id: fc.string({ maxLength: 3 }), page: fc.option(fc.record({ path: fc.string(), country: fc.constantFrom('', 'DE', 'ü') }), { nil: undefined }) }),
  { maxLength: 12 },
)

function written(aggregator: ReturnType<typeof firstBy<Event, Event['page']>>, accumulator: unknown): string {
  const writer = new ByteWriter(64)
  aggregator.serialize(accumulator as never, writer)
  return Buffer.from(writer.finish()).toString('utf8')
}

describe('firstBy and lastBy', () => {
  it.each([['firstBy', firstBy, true], ['lastBy', lastBy, false]] as const)('%s: the earliest (latest) event with a value, whatever the arrival order, written as its JSON', (_name, pick, earliest) => {
    fc.assert(
      fc.property(events, fc.integer({ min: 0 }), (list, seed) => {
        const aggregator = pick<Event, Event['page']>((event) => event.ts, (event) => event.id, (event) => event.page)
        const fold = (order: Event[]) => order.reduce((accumulator, event) => aggregator.add(accumulator, event), aggregator.create())
        const shuffled = [...list].sort((a, b) => ((a.ts * 31 + seed) % 7) - ((b.ts * 31 + seed) % 7))
        const candidates = list.filter((event) => event.page !== undefined)
        const best = candidates.reduce<Event | undefined>((winner, event) => {
          if (winner === undefined) return event
          const better = earliest ? event.ts < winner.ts || (event.ts === winner.ts && event.id < winner.id) : event.ts > winner.ts || (event.ts === winner.ts && event.id > winner.id)
          return better ? event : winner
        }, undefined)
        const accumulator = fold(list)
        expect(aggregator.result(accumulator)).toEqual(best?.page ?? null)
        expect(aggregator.result(fold(shuffled))).toEqual(best?.page ?? null)
        // Halves merged give the same pick.
        const half = list.length >> 1
        expect(aggregator.result(aggregator.merge(fold(list.slice(0, half)), fold(list.slice(half))))).toEqual(best?.page ?? null)
        // The bytes checkpoints have always held: the pick as JSON, or null.
        const text = written(aggregator, accumulator)
        expect(text).toBe(best === undefined ? 'null' : JSON.stringify({ time: best.ts, tie: best.id, value: best.page }))
        // Read back, it writes the same bytes, gives the same row and still competes on time and tie.
        const restored = aggregator.deserialize(new ByteReader(Buffer.from(text, 'utf8')))
        expect(written(aggregator, restored)).toBe(text)
        expect(aggregator.result(restored)).toEqual(best?.page ?? null)
        for (const event of shuffled) expect(aggregator.result(aggregator.add(restored, event))).toEqual(best?.page ?? null)
      }),
      { numRuns: 300 },
    )
  })

  it('builds the value only for an event that would be picked', () => {
    let built = 0
    const aggregator = firstBy<Event, string>((event) => event.ts, (event) => event.id, (event) => {
      built++
      return `page ${event.id}`
    })
    let accumulator = aggregator.create()
    for (const ts of [5, 7, 9, 3, 8]) accumulator = aggregator.add(accumulator, { ts, id: String(ts) })
    expect(aggregator.result(accumulator)).toBe('page 3')
    expect(built).toBe(2)
  })
})
