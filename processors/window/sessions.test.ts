import { describe, expect, it } from 'vitest'
import { count, sum } from './aggregators.ts'
import { session } from './assigners.ts'
import { WindowOperator } from './operator.ts'
import type { Emission } from './types.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { PartitionStateStore } from '../state/store.ts'

interface Visit {
  readonly user: string
  readonly time: number
  readonly pages?: number
}

const MINUTE = 60_000
const GAP = 30 * MINUTE

function sessions(options: { allowedLatenessMs?: number; earlyFiringMs?: number; outOfOrdernessMs?: number; store?: PartitionStateStore } = {}) {
  return new WindowOperator<Visit, { views: ReturnType<typeof count>; pages: ReturnType<typeof sum<Visit>> }>({
    ...(options.store === undefined ? {} : { storage: { store: options.store, prefix: 's/' } }),
    assigner: session(GAP),
    key: (visit) => visit.user,
    time: (visit) => visit.time,
    aggregates: { views: count(), pages: sum<Visit>((visit) => visit.pages ?? 1) },
    outOfOrdernessMs: options.outOfOrdernessMs ?? 0,
    allowedLatenessMs: options.allowedLatenessMs ?? 2 * 60 * MINUTE,
    idleTimeoutMs: 60 * MINUTE,
    earlyFiringMs: options.earlyFiringMs,
  })
}

type Out = Emission<Visit, { views: number; pages: number }>

function describeAll(emissions: Out[]) {
  return emissions.map((emission) => {
    switch (emission.kind) {
      case 'result':
        return `${emission.row.timing} ${emission.row.key} [${emission.row.windowStart / MINUTE},${emission.row.windowEnd / MINUTE}) views=${emission.row.values.views} rev=${emission.row.revision}`
      case 'retract':
        return `retract ${emission.key} [${emission.windowStart / MINUTE},${emission.windowEnd / MINUTE}) rev=${emission.revision}`
      case 'late':
        return `late ${emission.event.user}@${emission.event.time / MINUTE} by ${emission.latenessMs / MINUTE}`
      default:
        return emission.kind
    }
  })
}

const at = (minutes: number, user = 'ann') => ({ user, time: minutes * MINUTE })

describe('session windows', () => {
  it('events closer than the gap share a session; a longer pause starts a new one', () => {
    const operator = sessions()
    const out = [
      ...operator.process(0, [at(0), at(10), at(35)], 0),
      ...operator.process(0, [at(100)], 1), // watermark 100: [0,65) is complete
    ]
    expect(describeAll(out)).toEqual(['final ann [0,65) views=3 rev=7'])
  })

  it('a late event bridging two fired sessions merges them and retracts both old rows', () => {
    const operator = sessions()
    const fired = [...operator.process(0, [at(0), at(5), at(50), at(55)], 0), ...operator.process(0, [at(200)], 1)]
    expect(describeAll(fired)).toEqual(['final ann [0,35) views=2 rev=5', 'final ann [50,85) views=2 rev=5'])
    // Minute 30 is 170 minutes behind the watermark (200): beyond the 120 minutes allowed.
    expect(describeAll(operator.process(0, [at(30)], 2))).toEqual(['late ann@30 by 170'])

    const generous = sessions({ allowedLatenessMs: 300 * MINUTE })
    generous.process(0, [at(0), at(5), at(50), at(55)], 0)
    generous.process(0, [at(200)], 1)
    expect(describeAll(generous.process(0, [at(30)], 2))).toEqual([
      'retract ann [0,35) rev=11',
      'retract ann [50,85) rev=11',
      'late ann [0,85) views=5 rev=11',
    ])
  })

  it('a late event that pushes a session past the watermark reopens it until the watermark passes again', () => {
    const operator = sessions()
    operator.process(0, [at(0)], 0)
    expect(describeAll(operator.process(0, [at(40)], 1))).toEqual(['final ann [0,30) views=1 rev=3'])
    // Watermark is 40; an event at 25 stretches the session to [0,55), which is not complete yet.
    // It also reaches the unfired session at 40 (25 + 30 > 40), which merges in: its start goes too.
    expect(describeAll(operator.process(0, [at(25)], 2))).toEqual(['retract ann [0,30) rev=7', 'retract ann [40,70) rev=7'])
    expect(describeAll(operator.process(0, [at(90)], 3))).toEqual(['final ann [0,70) views=3 rev=7'])
  })

  it('retracts every start a merge removes, even where this run emitted nothing there', () => {
    const operator = sessions({ outOfOrdernessMs: 60 * MINUTE })
    expect(operator.process(0, [at(0), at(40)], 0)).toEqual([]) // watermark -20: nothing complete
    // Bridges [0,30) and [40,70). Nothing was emitted at 40 in this run, but a run before a restart
    // may have fired it early; only the event order may decide what is retracted.
    expect(describeAll(operator.process(0, [at(20)], 1))).toEqual(['retract ann [40,70) rev=7'])
    expect(describeAll(operator.process(0, [at(200)], 2))).toEqual(['final ann [0,70) views=3 rev=7'])
  })

  it('an event before the start retracts the old start, emitted or not', () => {
    const operator = sessions({ outOfOrdernessMs: 60 * MINUTE })
    expect(operator.process(0, [at(10)], 0)).toEqual([])
    expect(describeAll(operator.process(0, [at(5)], 1))).toEqual(['retract ann [10,40) rev=5'])
    expect(operator.process(0, [at(7)], 2)).toEqual([]) // inside: the start stays, nothing to retract
    expect(describeAll(operator.endOfInput(3))).toEqual(['final ann [5,40) views=3 rev=7'])
  })

  it('a replay that fires early at other moments leaves nothing behind from the run before it', () => {
    // Tables key sessions by (key, start): highest revision wins, a retraction deletes.
    const table = (emissions: Out[]) => {
      const rows = new Map<string, { revision: number; row: string | null }>()
      for (const emission of emissions) {
        if (emission.kind !== 'result' && emission.kind !== 'retract') continue
        const [key, start, revision] =
          emission.kind === 'result'
            ? [emission.row.key, emission.row.windowStart, emission.row.revision]
            : [emission.key, emission.windowStart, emission.revision]
        const id = `${key}|${start}`
        if ((rows.get(id)?.revision ?? -1) > revision) continue
        rows.set(id, { revision, row: emission.kind === 'result' ? describeAll([emission])[0]! : null })
      }
      return [...rows].filter(([, entry]) => entry.row !== null).map(([id, entry]) => `${id} ${entry.row}`)
    }
    const events = [at(10), at(50), at(5), at(30)]
    // The run before the crash fires after each of its first two events, so [10,40) and [50,80)
    // reach the table early, and dies before the other two arrive; nothing was checkpointed.
    const crashed = sessions({ earlyFiringMs: 1000, outOfOrdernessMs: 60 * MINUTE })
    const written: Out[] = []
    events.slice(0, 2).forEach((event, index) => {
      written.push(...crashed.process(0, [event], index * 1000), ...crashed.onProcessingTime(index * 1000 + 999))
    })
    expect(describeAll(written)).toEqual(['early ann [10,40) views=1 rev=2', 'early ann [50,80) views=1 rev=2'])
    // The replay reads the same events in one batch and never fires early.
    const replay = sessions({ earlyFiringMs: 1000, outOfOrdernessMs: 60 * MINUTE })
    const replayed = [...replay.process(0, events, 10_000), ...replay.endOfInput(10_001)]
    expect(table([...written, ...replayed])).toEqual(table(replayed))
    expect(table(replayed)).toEqual(['ann|300000 final ann [5,80) views=4 rev=9'])
  })

  it('keeps different keys apart and orders simultaneous firings by end, then key', () => {
    const operator = sessions()
    operator.process(0, [at(0, 'bob'), at(0, 'ann'), at(10, 'cid')], 0)
    expect(describeAll(operator.process(0, [at(60, 'zed')], 1))).toEqual([
      'final ann [0,30) views=1 rev=3',
      'final bob [0,30) views=1 rev=3',
      'final cid [10,40) views=1 rev=3',
    ])
  })

  it('purges a session after the allowed lateness; later events for it are declared late', () => {
    const operator = sessions({ allowedLatenessMs: 10 * MINUTE })
    operator.process(0, [at(0)], 0)
    operator.process(0, [at(45)], 1) // fires [0,30); cleanup at 40 also passed
    expect(operator.stats().windows).toBe(1) // only the session at 45 is left
    expect(describeAll(operator.process(0, [at(20)], 2))).toEqual(['late ann@20 by 25'])
  })

  it('early firings show growing sessions and retract the provisional shape when it grows', () => {
    const operator = sessions({ earlyFiringMs: 1000 })
    operator.process(0, [at(0)], 0)
    expect(describeAll(operator.onProcessingTime(1000))).toEqual(['early ann [0,30) views=1 rev=2'])
    expect(describeAll(operator.process(0, [at(10)], 1500))).toEqual(['retract ann [0,30) rev=5'])
    expect(describeAll(operator.onProcessingTime(2000))).toEqual(['early ann [0,40) views=2 rev=4'])
    expect(describeAll(operator.onProcessingTime(3000))).toEqual([]) // unchanged: nothing to say
  })

  describe('with a state store', () => {
    /** A checkpoint: what changed goes to the store, as the runner does it. */
    function checkpoint(operator: ReturnType<typeof sessions>, store: PartitionStateStore) {
      const entries = new Map<string, Uint8Array | null>()
      operator.changes(entries)
      store.stage({ nextOffset: 0, savedAt: 0, whole: operator.snapshot(), entries })
      return entries
    }
    const chains = (store: PartitionStateStore) => [...store.range('s/s/')].map((entry) => entry.key.slice('s/s/'.length))

    it('writes the keys that changed and keeps only the active ones in the heap', () => {
      const store = createHeapStateStore().partition('sessions', 0)
      const operator = sessions({ store, allowedLatenessMs: 0 })
      // At watermark 10, ann (quiet since 0) and bob (since 8) have been idle a thirtieth of the gap (1 min); cat has not.
      operator.process(0, [at(0), at(8, 'bob'), at(9.5, 'cat'), at(10, 'dan')], 0)
      const heapBefore = operator.stats().stateBytes
      expect(checkpoint(operator, store).size).toBe(8)
      expect(chains(store)).toEqual(['ann', 'bob', 'cat', 'dan'])
      // ann and bob are let go of: still counted as keys, no longer as heap.
      expect(operator.stats().keys).toBe(4)
      expect(operator.stats().stateBytes).toBeLessThan(heapBefore * 0.6)
      const out = operator.process(0, [at(100, 'eve')], 1)
      expect(describeAll(out)).toEqual(['final ann [0,30) views=1 rev=3', 'final bob [8,38) views=1 rev=3', 'final cat [9.5,39.5) views=1 rev=3', 'final dan [10,40) views=1 rev=3'])
      checkpoint(operator, store)
      // Fired and purged: their chains and due entries leave the store; eve's arrive.
      expect(chains(store)).toEqual(['eve'])
      expect([...store.range('s/d/')]).toHaveLength(1)
      expect(operator.stats().keys).toBe(1)
    })

    it('drops the timers of the chains it lets go of, which would hold their states until the gap ends', () => {
      const store = createHeapStateStore().partition('sessions', 0)
      const operator = sessions({ store, allowedLatenessMs: 0 })
      // Private on purpose: the timer heap is where states let go of stayed reachable.
      const timers = () => (operator as unknown as { store: { timers: { size: number } } }).store.timers.size
      operator.process(0, Array.from({ length: 3_000 }, (_, index) => at(0, `visitor-${index}`)), 0)
      expect(timers()).toBe(3_000)
      // Two minutes on, every visitor has been quiet past a thirtieth of the gap: all go to the store.
      operator.process(0, [at(2, 'newcomer')], 1)
      checkpoint(operator, store)
      expect(operator.stats().keys).toBe(3_001)
      expect(timers()).toBe(1)
      // The index still fires them when their gap ends.
      expect(operator.process(0, [at(40, 'later')], 2).filter((emission) => emission.kind === 'result')).toHaveLength(3_001)
    })

    it('lets a quiet chain go only once its early row is out, and keeps one that got an event since', () => {
      const store = createHeapStateStore().partition('sessions', 0)
      const operator = sessions({ store, allowedLatenessMs: 0, earlyFiringMs: 1_000 })
      const inHeap = () => [...(operator as unknown as { store: { sessions: Map<string, unknown> } }).store.sessions.keys()].sort()
      operator.process(0, [at(0), at(0, 'bob'), at(0, 'dan')], 0)
      checkpoint(operator, store)
      operator.process(0, [at(1.5, 'dan'), at(2, 'cat')], 1)
      // ann and bob have been quiet a minute but owe their early rows; dan had an event since.
      checkpoint(operator, store)
      expect(inHeap()).toEqual(['ann', 'bob', 'cat', 'dan'])
      expect(describeAll(operator.onProcessingTime(5_000))).toEqual(['early ann [0,30) views=1 rev=2', 'early bob [0,30) views=1 rev=2', 'early dan [0,31.5) views=2 rev=4', 'early cat [2,32) views=1 rev=2'])
      checkpoint(operator, store)
      // Their rows out, they go (so do cat and dan, quiet for a minute by eve's event).
      operator.process(0, [at(3.5, 'eve')], 6_000)
      checkpoint(operator, store)
      expect(inHeap()).toEqual(['eve'])
      // Where a chain lives changes no row: all of them fire when their gaps end.
      expect(describeAll(operator.process(0, [at(100, 'fay')], 7_000)).filter((row) => row.startsWith('final'))).toEqual(['final ann [0,30) views=1 rev=3', 'final bob [0,30) views=1 rev=3', 'final dan [0,31.5) views=2 rev=5', 'final cat [2,32) views=1 rev=3', 'final eve [3.5,33.5) views=1 rev=3'])
    })

    it('keeps a chain in the heap that had an event since, and lets it go once quiet, also after a read back', () => {
      const store = createHeapStateStore().partition('sessions', 0)
      const operator = sessions({ store, allowedLatenessMs: 0 })
      const inHeap = () => [...(operator as unknown as { store: { sessions: Map<string, unknown> } }).store.sessions.keys()].sort()
      operator.process(0, [at(0), at(0, 'bob')], 0)
      checkpoint(operator, store)
      operator.process(0, [at(1.5), at(2, 'cat')], 1)
      checkpoint(operator, store)
      expect(inHeap()).toEqual(['ann', 'cat'])
      // Quiet a minute since her last event, she goes after all.
      operator.process(0, [at(3.2, 'dan')], 2)
      checkpoint(operator, store)
      expect(inHeap()).toEqual(['dan'])
      // Read back by a new event, bob is in the heap again, and goes again once quiet.
      operator.process(0, [at(5, 'bob')], 3)
      checkpoint(operator, store)
      expect(inHeap()).toEqual(['bob'])
      operator.process(0, [at(7, 'eve')], 4)
      checkpoint(operator, store)
      expect(inHeap()).toEqual(['eve'])
    })

    it('a key read back and purged before the next checkpoint starts afresh, not from what the store still holds', () => {
      const store = createHeapStateStore().partition('sessions', 0)
      const operator = sessions({ store, allowedLatenessMs: 0 })
      operator.process(0, [at(0), at(5), at(10, 'bob')], 0)
      checkpoint(operator, store)
      operator.process(0, [at(12, 'cat'), at(34, 'dan')], 1)
      // Only what changed: cat and dan are new, ann and bob untouched.
      expect([...checkpoint(operator, store).keys()].filter((key) => key.startsWith('s/s/'))).toEqual(['s/s/cat', 's/s/dan'])
      expect(chains(store)).toEqual(['ann', 'bob', 'cat', 'dan'])
      // The watermark reaches ann's end: her chain (out of the heap since the first checkpoint) comes
      // back, fires and is purged; she visits again while the store still holds her old chain.
      const out = operator.process(0, [at(40, 'bob'), at(41)], 2)
      expect(describeAll(out)).toEqual(['final ann [0,35) views=2 rev=5', 'final bob [10,40) views=1 rev=3'])
      const later = operator.process(0, [at(200, 'eve')], 3)
      expect(describeAll(later)).toEqual(['final cat [12,42) views=1 rev=3', 'final dan [34,64) views=1 rev=3', 'final bob [40,70) views=1 rev=3', 'final ann [41,71) views=1 rev=3'])
      checkpoint(operator, store)
      expect(chains(store)).toEqual(['eve'])
    })
  })
})
