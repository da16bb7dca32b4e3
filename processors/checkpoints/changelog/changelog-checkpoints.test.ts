import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Checkpoint, CheckpointStore } from '../port.ts'
import { encodeWhole } from '../state-checkpoints.ts'
import { changelogCheckpoints, LOCAL_STATE_MAX_AGE_MS } from './changelog-checkpoints.ts'
import { MemoryChangelogTopic } from './memory-topic.ts'
import type { ChangelogTopic } from './port.ts'
import { createHeapStateStore } from '../../state/heap-store.ts'
import { createLmdbStateStore } from '../../state/lmdb-store.ts'
import type { StateStore } from '../../state/store.ts'
import { temporaryDirectory } from '../../../test/support/temp-dir.ts'
import { decodeEntry, MARKER_KEY, WHOLE_CHUNK_BYTES } from './records.ts'

const JOB = 'clickstream'
const TOPIC = 'eddy.clicks'
const bytes = (text: string) => new TextEncoder().encode(text)
const text = (value: Uint8Array) => new TextDecoder().decode(value)

interface Model {
  nextOffset: number
  whole: string
  entries: Map<string, string>
}

interface Machine {
  /** The instance's local store: the same object across its restarts, as a data dir is. */
  readonly store?: StateStore
  readonly legacy?: CheckpointStore
  readonly clock?: () => number
}

const instance = (topic: ChangelogTopic, machine: Machine = {}) =>
  changelogCheckpoints({ store: machine.store ?? createHeapStateStore(), changelog: () => topic, partitions: 4, legacy: machine.legacy, clock: machine.clock ?? (() => 0) })

/** Opens the partition on an instance (a new one unless `machine` names its store) and reads it back. */
async function opened(topic: ChangelogTopic, partition = 1, machine: Machine = {}) {
  const checkpoints = instance(topic, machine)
  const { state, checkpoint } = await checkpoints.open(JOB, TOPIC, partition)
  const entries = new Map([...state.range('')].filter((entry) => !entry.key.startsWith('\u0000')).map((entry) => [entry.key, text(entry.value)]))
  return { checkpoints, state, checkpoint, entries, whole: checkpoint === undefined ? undefined : text(checkpoint.whole) }
}

/** The topic, counting what restores read. */
function counting(topic: MemoryChangelogTopic) {
  const reads: number[] = []
  const counted: ChangelogTopic = {
    name: topic.name,
    atomicAppends: topic.atomicAppends,
    ensure: () => topic.ensure(),
    claim: () => topic.claim(),
    append: (partition, records) => topic.append(partition, records),
    read: async (partition, from, onRecords) => {
      const read = await topic.read(partition, from, onRecords)
      reads.push(read.records)
      return read
    },
  }
  return { counted, reads }
}

/** Applies a model checkpoint to the instance, as the runner does: changes, then the snapshot. */
function stageModel(checkpoints: ReturnType<typeof instance>, from: Model, to: Model, partition = 1, savedAt = to.nextOffset) {
  const entries = new Map<string, Uint8Array | null>()
  for (const key of new Set([...from.entries.keys(), ...to.entries.keys()])) {
    const value = to.entries.get(key)
    if (value !== from.entries.get(key)) entries.set(key, value === undefined ? null : bytes(value))
  }
  return checkpoints.stage(JOB, TOPIC, partition, { nextOffset: to.nextOffset, savedAt, whole: bytes(to.whole), entries })
}

describe('changelog checkpoints', () => {
  it('rebuild a partition on another instance from its changelog alone', async () => {
    const topic = new MemoryChangelogTopic()
    const first = await opened(topic)
    expect(first.checkpoint).toBeUndefined()
    const empty: Model = { nextOffset: 0, whole: '', entries: new Map() }
    const one: Model = { nextOffset: 10, whole: 'windows', entries: new Map([['dedup/a', '1'], ['dedup/b', '2']]) }
    const two: Model = { nextOffset: 20, whole: 'windows 2', entries: new Map([['dedup/b', '2'], ['paths/v', 'x']]) }
    await stageModel(first.checkpoints, empty, one).commit()
    await stageModel(first.checkpoints, one, two).commit()

    const second = await opened(topic)
    expect(second.checkpoint?.nextOffset).toBe(20)
    expect(second.whole).toBe('windows 2')
    expect(second.entries).toEqual(two.entries)
    // Other partitions are their own.
    expect((await opened(topic, 0)).checkpoint).toBeUndefined()
  })

  it('write a checkpoint to a topic of atomic appends as one append: new values only, its deletions as tombstones', async () => {
    const topic = new MemoryChangelogTopic('memory.changelog', true)
    const appends: number[] = []
    const append = topic.append.bind(topic)
    topic.append = async (partition, records) => {
      appends.push(records.length)
      return append(partition, records)
    }
    const { checkpoints } = await opened(topic)
    const one: Model = { nextOffset: 5, whole: 'w', entries: new Map([['dedup/a', '1'], ['dedup/b', '2']]) }
    const two: Model = { nextOffset: 9, whole: 'w', entries: new Map([['dedup/a', '3'], ['dedup/c', '4']]) }
    await stageModel(checkpoints, { nextOffset: 0, whole: '', entries: new Map() }, one).commit()
    const before = topic.records(1).length
    await stageModel(checkpoints, one, two).commit()
    const written = topic.records(1).slice(before)
    expect(appends.slice(-1)).toEqual([written.length])
    expect(written.map((record) => record.key)).toEqual(['dedup/a', 'dedup/c', MARKER_KEY, 'dedup/b'])
    expect(decodeEntry('dedup/a', written[0]!.value!).prev).toBeUndefined()
    expect(written.at(-1)!.value).toBeNull()
    expect((await opened(topic)).entries).toEqual(two.entries)
  })

  it.each([false, true])('forget deleted keys once compacted, and skip whole chunks that did not change (atomic appends: %s)', async (atomic) => {
    const topic = new MemoryChangelogTopic('memory.changelog', atomic)
    const { checkpoints } = await opened(topic)
    const big = 'w'.repeat(WHOLE_CHUNK_BYTES * 2 + 10)
    let model: Model = { nextOffset: 0, whole: '', entries: new Map() }
    for (let round = 1; round <= 20; round++) {
      const next: Model = { nextOffset: round, whole: big + (round % 2 === 0 ? 'even' : 'odd'), entries: new Map([[`dedup/${round}`, 'seen']]) }
      await stageModel(checkpoints, model, next).commit()
      model = next
    }
    const log = topic.records(1)
    // Chunks 0 and 1 written once, by the first checkpoint; the last chunk every round.
    expect(log.filter((record) => record.key.startsWith('\u0000whole/') && record.value !== null).map((record) => record.key.slice(7))).toEqual(['1/0', '1/1', '1/2', ...Array.from({ length: 19 }, (_, index) => `${index + 2}/2`)])
    topic.compact({ dropTombstones: true })
    expect(topic.records(1).map((record) => record.key).sort()).toEqual(['\u0000checkpoint', '\u0000whole/1/0', '\u0000whole/1/1', '\u0000whole/20/2', 'dedup/20'])
    const moved = await opened(topic)
    expect(moved.whole).toBe(model.whole)
    expect(moved.entries).toEqual(model.entries)

    // The whole parts shrink: the chunks past the end go.
    const small: Model = { nextOffset: 21, whole: 'tiny', entries: model.entries }
    await stageModel(moved.checkpoints, model, small).commit()
    topic.compact({ dropTombstones: true })
    expect(topic.records(1).map((record) => record.key).sort()).toEqual(['\u0000checkpoint', '\u0000whole/21/0', 'dedup/20'])
    expect((await opened(topic)).whole).toBe('tiny')
  })

  it.each([false, true])('restore the last complete checkpoint when an instance dies at any record of the next, even after compaction (atomic appends: %s)', async (atomic) => {
    const keys = fc.constantFrom('dedup/a', 'dedup/b', 'paths/c', 'paths/d', 'w/e')
    const models = fc.array(fc.record({
      whole: fc.oneof(fc.string({ maxLength: 8 }), fc.constant('x'.repeat(WHOLE_CHUNK_BYTES + 3))),
      set: fc.dictionary(keys, fc.string({ maxLength: 6 })),
      remove: fc.array(keys, { maxLength: 3 }),
    }), { minLength: 1, maxLength: 6 })
    const plan = fc.array(fc.record({ killAfter: fc.option(fc.nat(12), { nil: undefined }), killRepairAfter: fc.option(fc.nat(3), { nil: undefined }), compact: fc.constantFrom('no', 'keep tombstones', 'drop tombstones'), machine: fc.nat(2) }), { minLength: 6, maxLength: 6 })
    await fc.assert(fc.asyncProperty(models, plan, async (steps, faults) => {
      const topic = new MemoryChangelogTopic('memory.changelog', atomic)
      // Two machines whose local stores outlive their restarts (they read the changelog on from
      // where they were), and a third that is new each time (it reads all of it).
      // A compaction that drops tombstones comes a day later (delete.retention.ms): the machines'
      // stores are then too old to read on from where they were, and read everything.
      let now = 0
      const clock = () => now
      const machines: Machine[] = [{ store: createHeapStateStore(), clock }, { store: createHeapStateStore(), clock }, { clock }]
      // Each attempt applies the next step to the state last committed, so an attempt that dies
      // is followed by a different one: what the dead one half-wrote must not come back.
      let committed: Model = { nextOffset: 0, whole: '', entries: new Map() }
      let current = await opened(topic)
      for (const [attempt, fault] of faults.entries()) {
        const step = steps[attempt % steps.length]!
        const entries = new Map(committed.entries)
        for (const [key, value] of Object.entries(step.set)) entries.set(key, `${value}@${attempt}`)
        for (const key of step.remove) entries.delete(key)
        const next: Model = { nextOffset: committed.nextOffset + 10, whole: `${step.whole}@${attempt}`, entries }
        topic.failAfter(fault.killAfter)
        const outcome = await stageModel(current.checkpoints, committed, next, 1, now).commit().then(() => 'ok', () => 'killed')
        topic.failAfter(undefined)
        if (fault.compact === 'keep tombstones') topic.compact()
        if (fault.compact === 'drop tombstones') {
          now += 2 * LOCAL_STATE_MAX_AGE_MS
          topic.compact({ dropTombstones: true })
        }
        if (outcome === 'ok' && attempt % 2 === 0) {
          committed = next
          continue
        }
        // Killed (or restarted on purpose): the next instance holds exactly one checkpoint's state,
        // even when the one before it died while rolling the dead checkpoint back.
        if (fault.killRepairAfter !== undefined) {
          topic.failAfter(fault.killRepairAfter)
          await opened(topic, 1, machines[(fault.machine + 1) % 3]).catch(() => undefined)
          topic.failAfter(undefined)
        }
        current = await opened(topic, 1, machines[fault.machine])
        const at = current.checkpoint?.nextOffset ?? 0
        expect([committed.nextOffset, next.nextOffset]).toContain(at)
        if (at === next.nextOffset) committed = next
        expect(current.entries).toEqual(committed.entries)
        expect(current.whole ?? '').toBe(committed.whole)
      }
      for (const machine of machines) {
        const last = await opened(topic, 1, machine)
        expect(last.entries).toEqual(committed.entries)
        expect(last.whole ?? '').toBe(committed.whole)
      }
    }), { numRuns: 300 })
  })

  it('bring a local store up to date from where it was: only what other instances wrote since', async () => {
    const topic = new MemoryChangelogTopic()
    const { counted, reads } = counting(topic)
    const directory = temporaryDirectory('changelog-local')
    const a = { store: createLmdbStateStore({ path: `${directory.path}/a` }), clock: () => 0 }
    const b = { store: createLmdbStateStore({ path: `${directory.path}/b` }), clock: () => 0 }
    try {
      let model: Model = { nextOffset: 0, whole: '', entries: new Map() }
      const step = (round: number): Model => {
        const entries = new Map(model.entries)
        entries.set(`dedup/${round}`, `v${round}`)
        entries.delete(`dedup/${round - 3}`)
        return { nextOffset: round * 10, whole: `w${round}`, entries }
      }
      const run = async (machine: Machine, from: number, to: number) => {
        const { checkpoints } = await opened(counted, 1, machine)
        for (let round = from; round <= to; round++) {
          const next = step(round)
          await stageModel(checkpoints, model, next).commit()
          model = next
        }
      }
      await run(a, 1, 10)
      await run(b, 11, 13)
      const total = topic.records(1).length
      const back = await opened(counted, 1, a)
      expect(back.entries).toEqual(model.entries)
      expect(back.whole).toBe('w13')
      expect(back.checkpoint?.nextOffset).toBe(130)
      // b read everything a wrote; a read its own last checkpoint again and b's three.
      expect(reads.at(-1)).toBeLessThan(total / 2)

      // A restart of the same store (a process killed and started again) reads next to nothing.
      await a.store.close()
      const reopened = { store: createLmdbStateStore({ path: `${directory.path}/a` }), clock: () => 0 }
      const again = await opened(counted, 1, reopened)
      expect(again.entries).toEqual(model.entries)
      expect(reads.at(-1)).toBeLessThan(10)
      await reopened.store.close()

      // Older than a tombstone is kept: from the start, however current it looks.
      const stale = { store: createLmdbStateStore({ path: `${directory.path}/a` }), clock: () => LOCAL_STATE_MAX_AGE_MS + 1_000 }
      expect((await opened(counted, 1, stale)).entries).toEqual(model.entries)
      expect(reads.at(-1)).toBe(topic.records(1).length)
      await stale.store.close()
    } finally {
      await b.store.close()
      directory.remove()
    }
  })

  it('start over when the changelog is behind the local store (the topic was recreated)', async () => {
    const machine = { store: createHeapStateStore(), clock: () => 0 }
    const first = await opened(new MemoryChangelogTopic(), 1, machine)
    await stageModel(first.checkpoints, { nextOffset: 0, whole: '', entries: new Map() }, { nextOffset: 10, whole: 'w', entries: new Map([['dedup/a', '1']]) }).commit()
    const recreated = await opened(new MemoryChangelogTopic(), 1, machine)
    expect(recreated.checkpoint).toBeUndefined()
    expect(recreated.entries).toEqual(new Map())
  })

  it('restore a ClickHouse checkpoint from before the changelog once, then write all of it', async () => {
    const saved: Checkpoint = {
      job: JOB, topic: TOPIC, partition: 1, nextOffset: 42, savedAt: 1,
      state: encodeWhole(bytes('old windows'), [['dedup/a', bytes('1')], ['paths/v', bytes('p')]]),
    }
    const legacy: CheckpointStore = { load: async (job, topic, partition) => (partition === 1 ? saved : undefined), save: async () => {} }
    const changelog = new MemoryChangelogTopic()
    const upgraded = await opened(changelog, 1, { legacy })
    expect(upgraded.checkpoint?.nextOffset).toBe(42)
    expect(upgraded.entries).toEqual(new Map([['dedup/a', '1'], ['paths/v', 'p']]))
    await upgraded.checkpoints.stage(JOB, TOPIC, 1, { nextOffset: 50, savedAt: 2, whole: bytes('old windows'), entries: new Map([['dedup/b', bytes('2')], ['dedup/a', null]]) }).commit()

    // Without the legacy store the changelog alone has everything.
    const later = await opened(changelog)
    expect(later.checkpoint?.nextOffset).toBe(50)
    expect(later.whole).toBe('old windows')
    expect(later.entries).toEqual(new Map([['dedup/b', '2'], ['paths/v', 'p']]))
  })

  it('refuse state keys the changelog reserves', async () => {
    const { checkpoints } = await opened(new MemoryChangelogTopic())
    expect(() => checkpoints.stage(JOB, TOPIC, 1, { nextOffset: 1, savedAt: 1, whole: bytes(''), entries: new Map([['\u0000checkpoint', bytes('x')]]) })).toThrow(/NUL/)
  })
})
