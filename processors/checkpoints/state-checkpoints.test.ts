import { describe, expect, it } from 'vitest'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { createLmdbStateStore } from '../state/lmdb-store.ts'
import { decodeWhole, encodeWhole, storeCheckpoints, wholeCheckpoints } from './state-checkpoints.ts'
import type { Checkpoint, CheckpointStore } from './port.ts'

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value))

/** A checkpoint store in memory, as ClickHouse's table is to every instance. */
function memoryCheckpoints(): CheckpointStore & { saved: Map<string, Checkpoint> } {
  const saved = new Map<string, Checkpoint>()
  return {
    saved,
    load: async (job, topic, partition) => saved.get(`${job}/${topic}/${partition}`),
    save: async (checkpoint) => void saved.set(`${checkpoint.job}/${checkpoint.topic}/${checkpoint.partition}`, checkpoint),
  }
}

describe('whole checkpoints', () => {
  it('carry the state store entries, so another instance opens the partition as it was', async () => {
    const shared = memoryCheckpoints()
    const first = wholeCheckpoints(shared)
    const opened = await first.open('clickstream', 'eddy.clicks', 2)
    expect(opened.checkpoint).toBeUndefined()
    await first.stage('clickstream', 'eddy.clicks', 2, { nextOffset: 10, savedAt: 1, whole: bytes('windows'), entries: new Map([['dedup/i/a', bytes('1')], ['dedup/i/b', bytes('2')]]) }).commit()
    await first.stage('clickstream', 'eddy.clicks', 2, { nextOffset: 20, savedAt: 2, whole: bytes('windows 2'), entries: new Map([['dedup/i/a', null]]) }).commit()

    const second = wholeCheckpoints(shared)
    const moved = await second.open('clickstream', 'eddy.clicks', 2)
    expect(moved.checkpoint?.nextOffset).toBe(20)
    expect(text(moved.checkpoint?.whole)).toBe('windows 2')
    expect([...moved.state.range('dedup/')].map((entry) => `${entry.key}=${text(entry.value)}`)).toEqual(['dedup/i/b=2'])
  })

  it('restore a checkpoint written before the store as its whole parts', async () => {
    const shared = memoryCheckpoints()
    await shared.save({ job: 'logs', topic: 'eddy.logs', partition: 0, nextOffset: 7, savedAt: 0, state: bytes('EDNS-like parts') })
    const opened = await wholeCheckpoints(shared).open('logs', 'eddy.logs', 0)
    expect(text(opened.checkpoint?.whole)).toBe('EDNS-like parts')
    expect([...opened.state.range('')]).toEqual([])
  })

  it('encode and decode every key and value, and refuse a truncated one', () => {
    const encoded = encodeWhole(bytes('w'), [['k\u{1F600}', bytes('v')], ['', new Uint8Array(0)]])
    const decoded = decodeWhole(encoded)
    expect(text(decoded.whole)).toBe('w')
    expect([...decoded.entries].map(([key, value]) => [key, text(value!)])).toEqual([['k\u{1F600}', 'v'], ['', '']])
    expect(() => decodeWhole(encoded.subarray(0, encoded.length - 1))).toThrow(/past the end/)
  })
})

describe('store checkpoints', () => {
  it('restore a checkpoint file once, then the store holds the partition; staged changes do not survive a reopen', async () => {
    const directory = temporaryDirectory('store-checkpoints')
    const files = memoryCheckpoints()
    await files.save({ job: 'logs', topic: 'eddy.logs', partition: 1, nextOffset: 5, savedAt: 0, state: bytes('from the file') })
    const checkpoints = storeCheckpoints(createLmdbStateStore({ path: directory.path }), files)
    try {
      const upgraded = await checkpoints.open('logs', 'eddy.logs', 1)
      expect([upgraded.checkpoint?.nextOffset, text(upgraded.checkpoint?.whole)]).toEqual([5, 'from the file'])
      await checkpoints.stage('logs', 'eddy.logs', 1, { nextOffset: 9, savedAt: 1, whole: bytes('from the store'), entries: new Map([['dedup/i/x', bytes('x')]]) }).commit()
      checkpoints.stage('logs', 'eddy.logs', 1, { nextOffset: 12, savedAt: 2, whole: bytes('never committed'), entries: new Map([['dedup/i/y', bytes('y')]]) })
      const reopened = await checkpoints.open('logs', 'eddy.logs', 1)
      expect([reopened.checkpoint?.nextOffset, text(reopened.checkpoint?.whole)]).toEqual([9, 'from the store'])
      expect([...reopened.state.range('dedup/')].map((entry) => entry.key)).toEqual(['dedup/i/x'])
      // Another topic (a new prefix) is another partition of the store.
      expect((await checkpoints.open('logs', 'other.logs', 1)).checkpoint).toBeUndefined()
    } finally {
      await checkpoints.close()
      directory.remove()
    }
  })
})
