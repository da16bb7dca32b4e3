import { describe, expect, it } from 'vitest'
import type { StateCheckpoints } from '../checkpoints/state-checkpoints.ts'
import { PartitionTask } from '../partition-task.ts'
import type { StateCommit } from '../state/store.ts'
import { checkpoint, type CheckpointContext } from './checkpoint.ts'

/** A deferred promise: the test decides when an output write or a commit lands. */
function deferred() {
  let resolve!: () => void
  let reject!: (error: Error) => void
  const promise = new Promise<void>((yes, no) => {
    resolve = yes
    reject = no
  })
  return { promise, resolve, reject }
}

/** Until the promises queued so far (and what they queue in turn) have run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

function harness() {
  const clock = { now: 0 }
  const staged: StateCommit[] = []
  const commits: number[] = []
  const offsets: number[] = []
  const failing = new Set<number>()
  const checkpoints = {
    stage: (_job: string, _topic: string, _partition: number, changes: StateCommit) => {
      staged.push(changes)
      return {
        commit: async () => {
          if (failing.has(changes.nextOffset)) throw new Error(`checkpoint at ${changes.nextOffset} failed`)
          commits.push(changes.nextOffset)
        },
      }
    },
  } as unknown as StateCheckpoints
  const context: CheckpointContext = {
    job: 'job',
    topic: 'topic',
    checkpoints,
    consumer: () => ({ commit: async (positions: Array<{ offset: number }>) => { offsets.push(...positions.map((position) => position.offset)) } }) as never,
    clock: () => clock.now,
    intervalMs: 1_000,
    partitions: () => 1,
  }
  const task = { changes: () => {}, snapshot: () => new Uint8Array(0) } as never
  const owned = new PartitionTask(0, task, 0, 0)
  /** One record processed, with an output write that lands when the test says, then a checkpoint a second later. */
  const processAndCheckpoint = async (write: Promise<void>) => {
    owned.nextOffset += 1
    owned.writes.push(write)
    clock.now += 1_000
    await checkpoint(context, owned, false)
  }
  return { owned, staged, commits, offsets, failing, processAndCheckpoint }
}

describe('checkpoint', () => {
  it('takes the next checkpoints while earlier ones wait for their outputs, and saves them in order', async () => {
    const { owned, staged, commits, offsets, processAndCheckpoint } = harness()
    const writes = [deferred(), deferred(), deferred(), deferred(), deferred()]
    for (const write of writes) await processAndCheckpoint(write.promise)
    // Four are taken while the first write is still out; the fifth waits for a save to land.
    expect(staged.map((changes) => changes.nextOffset)).toEqual([1, 2, 3, 4])
    expect(owned.savesInFlight).toBe(4)
    // The second's outputs land first: it is still saved only after the first.
    writes[1]!.resolve()
    await settle()
    expect(commits).toEqual([])
    writes[0]!.resolve()
    await settle()
    expect(commits).toEqual([1, 2])
    expect(offsets).toEqual([1, 2])
    writes[2]!.resolve()
    writes[3]!.resolve()
    writes[4]!.resolve()
    await owned.saving
    expect(commits).toEqual([1, 2, 3, 4])
    expect(owned.savesInFlight).toBe(0)
    expect(owned.saving).toBeUndefined()
  })

  it('saves none after a checkpoint that failed, and the partition fails with its error', async () => {
    const { owned, commits, offsets, failing, processAndCheckpoint } = harness()
    failing.add(1)
    const first = deferred()
    await processAndCheckpoint(first.promise)
    await processAndCheckpoint(Promise.resolve())
    first.resolve()
    await owned.saving
    expect(commits).toEqual([])
    expect(offsets).toEqual([])
    expect((owned.failure as Error).message).toBe('checkpoint at 1 failed')
    await expect(processAndCheckpoint(Promise.resolve())).rejects.toThrow('checkpoint at 1 failed')
  })
})
