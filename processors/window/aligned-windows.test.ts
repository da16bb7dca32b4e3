import { describe, expect, it } from 'vitest'
import { count, distinct } from './aggregators.ts'
import { tumbling } from './assigners.ts'
import { WindowOperator } from './operator.ts'
import type { Emission } from './types.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { PartitionStateStore } from '../state/store.ts'

/** Tumbling windows with a state store: what each checkpoint writes, and what comes back from it. */

interface View {
  readonly user: string
  readonly page: string
  readonly time: number
}

const MINUTE = 60_000

function windows(store: PartitionStateStore, allowedLatenessMs = 10 * MINUTE) {
  return new WindowOperator<View, { views: ReturnType<typeof count>; pages: ReturnType<typeof distinct<View>> }>({
    storage: { store, prefix: 'a/' },
    assigner: tumbling(MINUTE),
    key: (view) => view.user,
    time: (view) => view.time,
    aggregates: { views: count(), pages: distinct((view: View) => view.page) },
    outOfOrdernessMs: 0,
    allowedLatenessMs,
    idleTimeoutMs: 60 * MINUTE,
  })
}

const view = (minutes: number, user: string, page: string): View => ({ user, page, time: minutes * MINUTE })

/** A checkpoint as the runner takes it: what changed goes to the store with the snapshot. */
function checkpoint(operator: ReturnType<typeof windows>, store: PartitionStateStore) {
  const entries = new Map<string, Uint8Array | null>()
  operator.changes(entries)
  const whole = operator.snapshot()
  store.stage({ nextOffset: 0, savedAt: 0, whole, entries })
  return { whole, entries }
}

/** Record keys without the window part: `<length>:<key>/<seq>`. */
const records = (keys: Iterable<string>) => [...keys].map((key) => key.replace(/^a\/o\/[0-9a-f]{16}\//, '')).sort()
const stored = (store: PartitionStateStore) => records([...store.range('a/o/')].map((entry) => entry.key))

function rows(out: Emission<View, { views: number; pages: number }>[]) {
  return out.flatMap((emission) => (emission.kind === 'result' ? [`${emission.row.timing} ${emission.row.key} @${emission.row.windowStart / MINUTE} views=${emission.row.values.views} pages=${emission.row.values.pages}`] : []))
}

describe('tumbling windows in a state store', () => {
  it('writes a state whole at its first checkpoint, then only what changed, and nothing for a state that did not', () => {
    const store = createHeapStateStore().partition('aligned', 0)
    const operator = windows(store)
    // Keys sharing a prefix, and holding the separators, each get records of their own.
    operator.process(0, [view(0.1, 'ann', 'a'), view(0.2, 'ann/x', 'b'), view(0.3, '1:ann', 'c')], 0)
    const { entries: first, whole } = checkpoint(operator, store)
    expect(records(first.keys())).toEqual(['3:ann/00000000', '5:1:ann/00000000', '5:ann/x/00000000'])
    operator.process(0, Array.from({ length: 50 }, (_, index) => view(0.4, 'ann', `page-${index}`)), 1)
    operator.process(0, [view(0.5, 'ann', 'page-0')], 2)
    const second = checkpoint(operator, store).entries
    expect(records(second.keys())).toEqual(['3:ann/00000001'])
    // The change holds the fifty new pages, not the one already written.
    const change = [...second.values()][0]!
    expect(change.length).toBeLessThan(50 * (4 + 'page-00'.length) + 100)
    expect(checkpoint(operator, store).entries.size).toBe(0)
    // The snapshot holds no state: fifty more pages leave it as long as it was.
    expect(operator.snapshot().length).toBe(whole.length)
  })

  it('restores an open window from its records, changes folded in, as if never stopped', () => {
    const store = createHeapStateStore().partition('aligned', 0)
    const never = windows(createHeapStateStore().partition('aligned', 0))
    const operator = windows(store)
    const batches = [[view(0.1, 'ann', 'a'), view(0.2, 'bob', 'a')], [view(0.3, 'ann', 'b')], [view(0.4, 'ann', 'a'), view(0.5, 'bob', 'c')]]
    let whole: Uint8Array = new Uint8Array()
    batches.forEach((batch, index) => {
      never.process(0, batch, index)
      operator.process(0, batch, index)
      whole = checkpoint(operator, store).whole
    })
    expect(stored(store)).toEqual(['3:ann/00000000', '3:ann/00000001', '3:ann/00000002', '3:bob/00000000', '3:bob/00000001'])
    const restored = windows(store)
    expect(restored.restore(whole)).toEqual({ ok: true })
    expect(restored.stats()).toEqual(operator.stats())
    const closing = [view(1.5, 'cat', 'a')]
    const out = restored.process(0, closing, 3)
    expect(rows(out)).toEqual(['final ann @0 views=3 pages=2', 'final bob @0 views=2 pages=2'])
    expect(out).toEqual(never.process(0, closing, 3))
  })

  it('lets a fired window go from the heap, reads a state back for a late event, and deletes every record at the purge', () => {
    const store = createHeapStateStore().partition('aligned', 0)
    const operator = windows(store, 5 * MINUTE)
    operator.process(0, [view(0.1, 'ann', 'a'), view(0.2, 'bob', 'a')], 0)
    checkpoint(operator, store)
    expect(rows(operator.process(0, [view(1.5, 'cat', 'a')], 1))).toEqual(['final ann @0 views=1 pages=1', 'final bob @0 views=1 pages=1'])
    const heapBefore = operator.stats().stateBytes
    checkpoint(operator, store)
    expect(operator.stats().stateBytes).toBeLessThan(heapBefore)
    expect(operator.stats().keys).toBe(3)
    // ann's state comes back from the store for a late page, and its late row counts both.
    expect(rows(operator.process(0, [view(0.9, 'ann', 'b')], 2))).toEqual(['late ann @0 views=2 pages=2'])
    checkpoint(operator, store)
    expect(stored(store).filter((key) => key.startsWith('3:ann'))).toEqual(['3:ann/00000000', '3:ann/00000001', '3:ann/00000002'])
    // Past the lateness both windows are purged, and their records go with them.
    operator.process(0, [view(7.5, 'dan', 'a')], 3)
    checkpoint(operator, store)
    expect(stored(store)).toEqual(['3:dan/00000000'])
  })

  it('writes a state whole again once its changes outgrow it, deleting the changes', () => {
    const store = createHeapStateStore().partition('aligned', 0)
    const operator = windows(store)
    operator.process(0, [view(0.1, 'ann', 'first')], 0)
    checkpoint(operator, store)
    let rewritten: Map<string, Uint8Array | null> | undefined
    for (let round = 1; round <= 40 && rewritten === undefined; round++) {
      // About 10 KB of new pages a round: past 256 KB of changes the state is written whole again.
      operator.process(0, Array.from({ length: 400 }, (_, index) => view(0.2, 'ann', `round-${round}-page-${index}`)), round)
      const { entries } = checkpoint(operator, store)
      if (entries.get(`a/o/${[...store.range('a/o/')][0]!.key.slice(4, 20)}/3:ann/00000000`) !== undefined) rewritten = entries
    }
    expect(rewritten).toBeDefined()
    // The whole state, and a deletion for every change it replaces.
    expect([...rewritten!.values()].filter((value) => value === null).length).toBeGreaterThan(10)
    expect(stored(store)).toEqual(['3:ann/00000000'])
    const restored = windows(store)
    expect(restored.restore(operator.snapshot())).toEqual({ ok: true })
    expect(rows(restored.process(0, [view(1.5, 'bob', 'a')], 99))[0]).toMatch(/^final ann @0 views=\d+ pages=\d+$/)
    expect(rows(restored.process(0, [], 100))).toEqual([])
    expect(restored.stats()).toMatchObject({ keys: 2 })
  })

  it('a snapshot taken without its changes holds the changed states, and their next record replaces the stale ones', () => {
    const store = createHeapStateStore().partition('aligned', 0)
    const never = windows(createHeapStateStore().partition('aligned', 0))
    const operator = windows(store)
    for (const [index, page] of ['a', 'b'].entries()) {
      never.process(0, [view(0.1, 'ann', page)], index)
      operator.process(0, [view(0.1, 'ann', page)], index)
      checkpoint(operator, store)
    }
    never.process(0, [view(0.2, 'ann', 'c')], 2)
    operator.process(0, [view(0.2, 'ann', 'c')], 2)
    const restored = windows(store)
    expect(restored.restore(operator.snapshot())).toEqual({ ok: true })
    const { entries } = checkpoint(restored, store)
    expect([...entries].map(([key, value]) => `${records([key])[0]} ${value === null ? 'deleted' : 'written'}`).sort()).toEqual(['3:ann/00000000 written', '3:ann/00000001 deleted'])
    const again = windows(store)
    expect(again.restore(restored.snapshot())).toEqual({ ok: true })
    expect(rows(again.process(0, [view(1.5, 'bob', 'a')], 3))).toEqual(rows(never.process(0, [view(1.5, 'bob', 'a')], 3)))
  })

  it('refuses a checkpoint whose store does not hold its open windows, naming the window', () => {
    const store = createHeapStateStore().partition('aligned', 0)
    const operator = windows(store)
    operator.process(0, [view(0.1, 'ann', 'a')], 0)
    const { whole } = checkpoint(operator, store)
    const elsewhere = windows(createHeapStateStore().partition('aligned', 0))
    const result = elsewhere.restore(whole)
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.reason).toMatch(/keeps 1 states of the window at 1970-01-01T00:00:00.000Z in the state store, which holds 0/)
  })
})
