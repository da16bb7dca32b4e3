/**
 * The StateStore contract, against store.ts only: every adapter passes the same cases, so an
 * operator on the heap store and on the disk store sees the same keys in the same order.
 */
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StateCommit, StateStore } from './store.ts'

export interface StateStoreUnderTest {
  readonly store: StateStore
  /** Closes the store and opens it again where it was (a restart); undefined for the heap store. */
  reopen?(): Promise<StateStore>
  cleanup(): Promise<void>
}

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value))

export function commitOf(nextOffset: number, entries: Record<string, string | null>, whole = ''): StateCommit {
  return {
    nextOffset,
    savedAt: 1_000 + nextOffset,
    whole: bytes(whole),
    entries: new Map(Object.entries(entries).map(([key, value]) => [key, value === null ? null : bytes(value)])),
  }
}

export function stateStoreContract(name: string, make: () => Promise<StateStoreUnderTest>, options: { readonly durable: boolean }): void {
  describe(`StateStore contract: ${name}`, () => {
    let subject: StateStoreUnderTest
    let store: StateStore

    beforeEach(async () => {
      subject = await make()
      store = subject.store
    })
    afterEach(() => subject.cleanup())

    const keysOf = (entries: Iterable<{ key: string; value: Uint8Array }>) => [...entries].map((entry) => `${entry.key}=${text(entry.value)}`)

    it('a partition never committed has no checkpoint and no keys', () => {
      const partition = store.partition('clickstream', 0)
      expect(partition.checkpoint()).toBeUndefined()
      expect(partition.get('dedup/a')).toBeUndefined()
      expect([...partition.range('')]).toEqual([])
    })

    it('a commit stores entries, deletes keys and records its offset and whole parts', async () => {
      const partition = store.partition('clickstream', 0)
      await partition.commit(commitOf(10, { 'dedup/a': '1', 'dedup/b': '2' }, 'windows@10'))
      await partition.commit(commitOf(20, { 'dedup/a': null, 'dedup/c': '3' }, 'windows@20'))
      expect(text(partition.get('dedup/a'))).toBeUndefined()
      expect(text(partition.get('dedup/b'))).toBe('2')
      expect(text(partition.get('dedup/c'))).toBe('3')
      const checkpoint = partition.checkpoint()!
      expect([checkpoint.nextOffset, checkpoint.savedAt, text(checkpoint.whole)]).toEqual([20, 1_020, 'windows@20'])
    })

    it('ranges iterate one prefix in code point order, within their bounds', async () => {
      const partition = store.partition('logs', 3)
      await partition.commit(commitOf(1, { 'a/\u{1F600}': 'emoji', 'a/\uffff': 'max', 'a/b': 'b', 'a/a': 'a', 'a\u0000': 'other', 'b/a': 'other', 'a/': 'empty' }))
      expect(keysOf(partition.range('a/'))).toEqual(['a/=empty', 'a/a=a', 'a/b=b', 'a/\uffff=max', 'a/\u{1F600}=emoji'])
      expect(keysOf(partition.range('a/', { from: 'a/b' }))).toEqual(['a/b=b', 'a/\uffff=max', 'a/\u{1F600}=emoji'])
      expect(keysOf(partition.range('a/', { from: 'a/a', until: 'a/\uffff' }))).toEqual(['a/a=a', 'a/b=b'])
      expect(keysOf(partition.range('a/', { until: 'a/' }))).toEqual([])
    })

    it('jobs and partitions are separate key spaces', async () => {
      await store.partition('clickstream', 1).commit(commitOf(5, { k: 'c1' }, 'c1'))
      await store.partition('clickstream', 10).commit(commitOf(6, { k: 'c10' }, 'c10'))
      await store.partition('logs', 1).commit(commitOf(7, { k: 'l1' }, 'l1'))
      expect(text(store.partition('clickstream', 1).get('k'))).toBe('c1')
      expect(text(store.partition('clickstream', 10).get('k'))).toBe('c10')
      expect(text(store.partition('logs', 1).get('k'))).toBe('l1')
      expect(keysOf(store.partition('clickstream', 1).range(''))).toEqual(['k=c1'])
      expect(store.partition('logs', 2).checkpoint()).toBeUndefined()
      // A range open at the end stops at its partition, before the next partition's checkpoint.
      await store.partition('notifications', 0).commit(commitOf(8, { 'w/1': 'n0', 'w/2': 'n0' }, 'n0'))
      await store.partition('notifications', 1).commit(commitOf(9, { 'w/1': 'n1' }, 'n1'))
      expect(keysOf(store.partition('notifications', 0).range('w/'))).toEqual(['w/1=n0', 'w/2=n0'])
      expect(keysOf(store.partition('notifications', 0).range('w/', { from: 'w/2' }))).toEqual(['w/2=n0'])
      // Keys hold ids from clients: control characters, a NUL among them, must round-trip.
      await store.partition('notifications', 2).commit(commitOf(10, { 'v/a\u0000b': 'nul', 'v/a\u0001': 'soh', 'v/\u0004\u001b': 'esc' }))
      expect(keysOf(store.partition('notifications', 2).range('v/'))).toEqual(['v/\u0004\u001b=esc', 'v/a\u0000b=nul', 'v/a\u0001=soh'])
      expect(text(store.partition('notifications', 2).get('v/a\u0000b'))).toBe('nul')
      expect(store.stats().entries).toBeGreaterThanOrEqual(3)
    })

    it('reads see a commit from the moment it is handed over, and commits land in call order', async () => {
      const partition = store.partition('notifications', 0)
      await partition.commit(commitOf(1, { x: 'old', y: 'kept' }))
      const first = partition.commit(commitOf(2, { x: 'first', z: 'new' }))
      const second = partition.commit(commitOf(3, { x: 'second', y: null }))
      expect(text(partition.get('x'))).toBe('second')
      expect(partition.get('y')).toBeUndefined()
      expect(keysOf(partition.range(''))).toEqual(['x=second', 'z=new'])
      expect(partition.checkpoint()!.nextOffset).toBe(3)
      await Promise.all([first, second])
      expect(text(partition.get('x'))).toBe('second')
      expect(keysOf(partition.range(''))).toEqual(['x=second', 'z=new'])
      expect(partition.checkpoint()!.nextOffset).toBe(3)
    })

    it('a staged checkpoint is read at once, and a discarded one never lands', async () => {
      const partition = store.partition('clickstream', 4)
      await partition.commit(commitOf(1, { a: 'committed' }, 'w1'))
      const kept = partition.stage(commitOf(2, { a: 'staged', b: 'staged' }, 'w2'))
      expect(text(partition.get('a'))).toBe('staged')
      expect(partition.checkpoint()!.nextOffset).toBe(2)
      await kept.commit()
      const dropped = partition.stage(commitOf(3, { a: 'dropped', b: null }, 'w3'))
      expect(partition.get('b')).toBeUndefined()
      partition.discardStaged()
      expect(text(partition.get('a'))).toBe('staged')
      expect(text(partition.get('b'))).toBe('staged')
      expect(partition.checkpoint()!.nextOffset).toBe(2)
      await expect(dropped.commit()).rejects.toThrow(/discarded/)
      const first = partition.stage(commitOf(4, { c: '1' }))
      const second = partition.stage(commitOf(5, { c: '2' }))
      await expect(second.commit()).rejects.toThrow(/staged earlier/)
      await first.commit()
      expect(text(partition.get('c'))).toBe('2')
      partition.discardStaged()
      expect(text(partition.get('c'))).toBe('1')
      expect(partition.checkpoint()!.nextOffset).toBe(4)
    })

    it('clear forgets a partition and only that one', async () => {
      await store.partition('clickstream', 0).commit(commitOf(4, { a: '1', b: '2' }, 'w'))
      await store.partition('clickstream', 1).commit(commitOf(4, { a: 'kept' }, 'w'))
      await store.partition('clickstream', 0).clear()
      expect(store.partition('clickstream', 0).checkpoint()).toBeUndefined()
      expect([...store.partition('clickstream', 0).range('')]).toEqual([])
      expect(text(store.partition('clickstream', 1).get('a'))).toBe('kept')
    })

    it('any sequence of commits leaves the store a map of the last value of each key', async () => {
      const key = fc.constantFrom('p/a', 'p/b', 'p/\u{1F600}', 'p/\uffff', 'p/', 'q/a', 'p/a\u0000', 'p/x/a', 'p/x/\u{1F600}', 'p/x/', 'p/y/b', 'p/x')
      const commits = fc.array(fc.dictionary(key, fc.option(fc.string({ maxLength: 4 }), { nil: null })), { minLength: 1, maxLength: 6 })
      let run = 0
      await fc.assert(
        fc.asyncProperty(commits, async (sequence) => {
          const partition = store.partition('property', run++)
          const model = new Map<string, string>()
          const landing: Promise<void>[] = []
          sequence.forEach((entries, index) => {
            for (const [name, value] of Object.entries(entries)) {
              if (value === null) model.delete(name)
              else model.set(name, value)
            }
            landing.push(partition.commit(commitOf(index + 1, entries)))
          })
          const expected = (prefix: string) => [...model].filter(([name]) => name.startsWith(prefix)).sort(([left], [right]) => Buffer.compare(Buffer.from(left), Buffer.from(right))).map(([name, value]) => `${name}=${value}`)
          for (const prefix of ['p/', 'p/x/', 'p/x']) expect(keysOf(partition.range(prefix))).toEqual(expected(prefix))
          await Promise.all(landing)
          for (const prefix of ['p/', 'p/x/', 'p/x']) expect(keysOf(partition.range(prefix))).toEqual(expected(prefix))
        }),
        { numRuns: 60 },
      )
    })

    if (options.durable) it('what was committed is there after a restart', async () => {
      await store.partition('clickstream', 2).commit(commitOf(42, { 'dedup/a': '1', 'sessions/v': 'open' }, 'whole'))
      store = await subject.reopen!()
      const partition = store.partition('clickstream', 2)
      expect(partition.checkpoint()!.nextOffset).toBe(42)
      expect(text(partition.checkpoint()!.whole)).toBe('whole')
      expect(keysOf(partition.range(''))).toEqual(['dedup/a=1', 'sessions/v=open'])
    })

    if (options.durable) it('closes only once the commits called before it have landed', async () => {
      const partition = store.partition('logs', 4)
      // Called, not awaited, as a process shutting down leaves them: close waits for each.
      for (let offset = 1; offset <= 20; offset++) void partition.commit(commitOf(offset, { [`k/${offset}`]: String(offset) }))
      store = await subject.reopen!()
      expect(store.partition('logs', 4).checkpoint()!.nextOffset).toBe(20)
      expect(keysOf(store.partition('logs', 4).range('k/'))).toHaveLength(20)
    })
  })
}
