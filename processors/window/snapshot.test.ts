import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { avg, count, distinct, max, min, sum } from './aggregators.ts'
import { hopping, session, tumbling } from './assigners.ts'
import { WindowOperator } from './operator.ts'
import { approxDistinct, quantiles, topK } from './sketch-aggregators.ts'
import { type Click, type Step, canonical, runSteps, streamArbitrary } from './test-support.ts'
import type { WindowAssigner } from './types.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { PartitionStateStore } from '../state/store.ts'

function aggregates() {
  return {
    count: count<Click>(),
    total: sum<Click>((event) => event.value),
    least: min<Click>((event) => event.value),
    most: max<Click>((event) => event.value),
    mean: avg<Click>((event) => event.value),
    users: distinct<Click>((event) => `${event.user}:${event.value % 7}`),
    approxUsers: approxDistinct<Click>((event) => `${event.id % 50}`, { precision: 6 }),
    latency: quantiles<Click>((event) => event.value, [0, 0.5, 0.99]),
    topValues: topK<Click>((event) => String(event.value % 9), 2, { capacity: 3 }),
  }
}

function operator(assigner: WindowAssigner, earlyFiringMs: number | undefined, store?: PartitionStateStore) {
  return new WindowOperator<Click, ReturnType<typeof aggregates>>({
    ...(store === undefined ? {} : { storage: { store, prefix: 'op/' } }),
    assigner,
    key: (event) => event.user,
    time: (event) => event.time,
    aggregates: aggregates(),
    outOfOrdernessMs: 15,
    allowedLatenessMs: 25,
    idleTimeoutMs: 120,
    earlyFiringMs,
    // Tight enough that some runs hit the bounds, so overflow decisions must survive restore too.
    limits: { maxKeysPerWindow: 3, maxStateBytes: 60_000 },
  })
}

const assigners = fc.constantFrom(tumbling(30), hopping(40, 20), session(25))

/** A checkpoint: the snapshot, and the changes since the last one staged in the store. */
function checkpoint(current: ReturnType<typeof operator>, store: PartitionStateStore | undefined): Uint8Array {
  const entries = new Map<string, Uint8Array | null>()
  current.changes(entries)
  const whole = current.snapshot()
  if (store !== undefined) store.stage({ nextOffset: 0, savedAt: 0, whole, entries })
  else expect(entries.size).toBe(0)
  return whole
}

describe('snapshot and restore', () => {
  // With a store, window states are written there as they change and fired windows and idle
  // sessions leave the heap at every checkpoint; later events (or the watermark, for sessions)
  // read them back, and a restore reads the open windows back.
  it.each([['in the heap', false], ['with windows and sessions in a state store', true]])('restoring at random cut points yields the same emissions as never stopping, %s', (_name, stored) => {
    const seen = new Set<string>()
    let sessionsStored = false
    let changesStored = false
    const stagedSessions = (store: PartitionStateStore | undefined) => {
      if (store !== undefined && [...store.range('op/s/')].length > 0) sessionsStored = true
      // A window state's records after its first are what changed (distinct's new items).
      if (store !== undefined && [...store.range('op/o/')].some((entry) => !entry.key.endsWith('/00000000'))) changesStored = true
    }
    fc.assert(
      fc.property(
        assigners,
        fc.option(fc.integer({ min: 10, max: 80 }), { nil: undefined }),
        streamArbitrary({ maxSteps: 30 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (assigner, early, steps, rawCuts, rawCheckpoints) => {
          const end = steps.at(-1)?.now ?? 0
          const original = operator(assigner, early)
          const uninterrupted = [...runSteps(original, steps), ...original.endOfInput(end)]
          for (const emission of uninterrupted) seen.add(emission.kind === 'result' ? `row:${emission.row.timing}` : emission.kind)
          const cuts = new Set(rawCuts.map((cut) => cut % (steps.length + 1)))
          const checkpoints = new Set(rawCheckpoints.map((at) => at % (steps.length + 1)))
          const store = stored ? createHeapStateStore().partition('op', 0) : undefined
          let current = operator(assigner, early, store)
          const resumed = []
          steps.forEach((step: Step, index) => {
            if (checkpoints.has(index) && !cuts.has(index)) {
              checkpoint(current, store)
              stagedSessions(store)
            }
            if (cuts.has(index)) {
              const bytes = checkpoint(current, store)
              stagedSessions(store)
              const next = operator(assigner, early, store)
              expect(next.restore(bytes)).toEqual({ ok: true })
              // A restored operator snapshots to the very same bytes.
              expect(Buffer.from(next.snapshot()).equals(Buffer.from(bytes))).toBe(true)
              // A restore starts with a cold cache: the heap's share is smaller, every other figure the same.
              const { stateBytes: restoredHeap, ...restored } = next.stats()
              const { stateBytes: heap, ...before } = current.stats()
              expect(restored).toEqual(before)
              if (store === undefined) expect(restoredHeap).toBe(heap)
              else expect(restoredHeap).toBeLessThanOrEqual(heap)
              current = next
            }
            resumed.push(...runSteps(current, [step]))
          })
          resumed.push(...current.endOfInput(end))
          expect(canonical(resumed)).toBe(canonical(uninterrupted))
          if (store !== undefined) {
            // Every window is purged at the end of input: its entries leave the store with it.
            checkpoint(current, store)
            expect([...store.range('op/')].map((entry) => entry.key)).toEqual([])
          }
        },
      ),
      { numRuns: 250 },
    )
    // Guard against a vacuous property: the streams must exercise every kind of output.
    expect([...seen].sort()).toEqual(['late', 'overflow', 'retract', 'row:early', 'row:final', 'row:late'])
    expect(sessionsStored).toBe(stored)
    expect(changesStored).toBe(stored)
  })

  it('refuses a snapshot from another spec, and garbage, leaving the operator empty', () => {
    const source = operator(tumbling(30), undefined)
    source.process(0, [{ id: 1, time: 1000, user: 'a', value: 1 }], 0)
    const bytes = source.snapshot()

    const other = operator(session(30), undefined)
    const refused = other.restore(bytes)
    expect(refused.ok).toBe(false)
    expect(other.stats().keys).toBe(0)

    const target = operator(tumbling(30), undefined)
    expect(target.restore(bytes.slice(0, bytes.length - 3)).ok).toBe(false)
    expect(target.restore(new Uint8Array([1, 2, 3])).ok).toBe(false)
    expect(target.stats().keys).toBe(0)
    expect(target.restore(bytes)).toEqual({ ok: true })
    expect(target.stats().keys).toBe(1)
  })
})
