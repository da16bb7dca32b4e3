import fc from 'fast-check'
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Deduplicator } from './deduplicate.ts'

type Event = { id: string; ts: number }
const make = (horizonMs = 1_000, maxEntries = 1_000, recentArrivals = 0) => new Deduplicator<Event>({ horizonMs, maxEntries, recentArrivals }, (e) => e.id, (e) => e.ts)

describe('Deduplicator', () => {
  it('drops ids seen before, within the horizon', () => {
    const dedup = make()
    expect(dedup.filter([{ id: 'a', ts: 1 }, { id: 'b', ts: 2 }, { id: 'a', ts: 1 }]).map((e) => e.id)).toEqual(['a', 'b'])
    expect(dedup.filter([{ id: 'b', ts: 2 }])).toEqual([])
    expect(dedup.duplicates).toBe(2)
  })

  it('forgets ids older than the horizon and beyond the entry bound', () => {
    const byTime = make(100)
    byTime.filter([{ id: 'old', ts: 0 }])
    byTime.filter([{ id: 'new', ts: 1_000 }])
    expect(byTime.filter([{ id: 'old', ts: 0 }])).toHaveLength(1)
    const byCount = make(1_000_000, 2)
    byCount.filter([{ id: 'a', ts: 1 }, { id: 'b', ts: 2 }, { id: 'c', ts: 3 }])
    expect(byCount.size).toBe(2)
    expect(byCount.forgottenEarly).toBe(1)
    expect(byCount.filter([{ id: 'a', ts: 1 }])).toHaveLength(1)
  })

  it('remembers the last arrivals whatever their time, so a retried too-late event is dropped', () => {
    const dedup = make(100, 1_000, 3)
    dedup.filter([{ id: 'now', ts: 10_000 }, { id: 'ancient', ts: 0 }])
    expect(dedup.filter([{ id: 'ancient', ts: 0 }])).toEqual([])
    dedup.filter([{ id: 'x', ts: 10_001 }, { id: 'y', ts: 10_002 }, { id: 'z', ts: 10_003 }])
    expect(dedup.filter([{ id: 'ancient', ts: 0 }])).toHaveLength(1)
  })

  it('decides the same whatever the batch boundaries', () => {
    const event = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), ts: fc.integer({ min: 0, max: 200 }) })
    fc.assert(fc.property(fc.array(event, { maxLength: 60 }), fc.array(fc.nat({ max: 60 })), (events, cuts) => {
      const whole = make(20, 1_000, 2).filter(events)
      const split = make(20, 1_000, 2)
      const points = [...new Set(cuts)].sort((a, b) => a - b)
      const pieces: Event[] = []
      let start = 0
      for (const point of [...points, events.length]) {
        pieces.push(...split.filter(events.slice(start, Math.max(start, point))))
        start = Math.max(start, point)
      }
      expect(pieces).toEqual(whole)
    }), { numRuns: 300 })
  })

  it('restores to a deduplicator that behaves identically, with identical bytes', () => {
    const event = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'é', 'f', 'g'), ts: fc.integer({ min: 0, max: 50 }) })
    fc.assert(fc.property(fc.array(event), fc.array(event), (first, second) => {
      const original = make(20, 4, 2)
      original.filter(first)
      const restored = make(20, 4, 2)
      expect(restored.restore(original.snapshot())).toEqual({ ok: true })
      expect(Buffer.from(restored.snapshot()).equals(Buffer.from(original.snapshot()))).toBe(true)
      expect(restored.filter(second)).toEqual(original.filter(second))
    }), { numRuns: 300 })
  })

  it('sizes its heap by the ids it remembers, and reuses the slots it frees', () => {
    const ids = Array.from({ length: 50_000 }, () => randomUUID())
    const dedup = make(Number.MAX_SAFE_INTEGER, 1_000_000)
    dedup.filter(ids.map((id, ts) => ({ id, ts })))
    // Measured on Node 20 with uuids: 56 B per id string and 37 B per Map entry.
    expect(dedup.heapBytes() / ids.length).toBeGreaterThan(80)
    expect(dedup.heapBytes() / ids.length).toBeLessThan(120)

    // Each batch of 1,000 overlaps the 100 ms horizon of the one before: a steady state that
    // must not grow the slot arrays, however long it runs.
    const bounded = make(100, 1_000_000)
    const batch = (round: number) => bounded.filter(ids.slice(round * 1_000, (round + 1) * 1_000).map((id, index) => ({ id, ts: round * 1_000 + index })))
    for (let round = 0; round < 5; round++) batch(round)
    const settled = { bytes: bounded.heapBytes(), slots: bounded.slotCapacity }
    for (let round = 5; round < 50; round++) batch(round)
    expect(bounded.heapBytes()).toBeLessThan(settled.bytes * 1.1)
    expect(bounded.slotCapacity).toBe(settled.slots)
  })
})
