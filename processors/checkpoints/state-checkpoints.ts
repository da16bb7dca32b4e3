import { ByteReader, ByteWriter } from '../state/bytes.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { CommittedCheckpoint, PartitionStateStore, StagedCommit, StateCommit, StateStore, StateStoreOptions, StateStoreStats } from '../state/store.ts'
import type { CheckpointStore } from './port.ts'

/**
 * Where a job's partitions keep their state and position. A task's checkpoint is the part of its
 * state kept whole, the state store entries changed since the last one, and the input offset; it
 * is staged when the snapshot is taken and committed once the outputs it reflects are written.
 */
export interface StateCheckpoints {
  /** The partition's state store, with the last checkpoint committed and nothing staged. */
  open(job: string, topic: string, partition: number): Promise<OpenedPartition>
  stage(job: string, topic: string, partition: number, changes: StateCommit): StagedCommit
  /** The state store's size and entries, for the metrics. */
  stats(): StateStoreStats
  close(): Promise<void>
}

export interface OpenedPartition {
  readonly state: PartitionStateStore
  readonly checkpoint: CommittedCheckpoint | undefined
}

/** A job's partitions are named by job and topic: a new topic prefix starts from nothing. */
const spaceOf = (job: string, topic: string) => `${job} ${topic}`

/**
 * The state store is the checkpoint (embedded mode, LMDB in the data dir): a checkpoint writes
 * what changed, in one transaction with the offset. A partition the store has never seen restores
 * from `legacy`, the checkpoint files written before the store existed, once: its next checkpoint
 * is the store's.
 */
export function storeCheckpoints(store: StateStore, legacy?: CheckpointStore): StateCheckpoints {
  return {
    async open(job, topic, partition) {
      const state = store.partition(spaceOf(job, topic), partition)
      state.discardStaged()
      const committed = state.checkpoint()
      if (committed !== undefined || legacy === undefined) return { state, checkpoint: committed }
      const old = await legacy.load(job, topic, partition)
      return { state, checkpoint: old === undefined ? undefined : { nextOffset: old.nextOffset, savedAt: old.savedAt, whole: old.state } }
    },
    stage: (job, topic, partition, changes) => store.partition(spaceOf(job, topic), partition).stage(changes),
    stats: () => store.stats(),
    close: () => store.close(),
  }
}

/** 'EDWH': a whole checkpoint that carries the store's entries after the parts kept whole. */
const WHOLE_MAGIC = 0x45445748

/**
 * Every checkpoint written whole to a CheckpointStore (ClickHouse on Kafka, where a partition may
 * move to any instance): the parts kept whole and every entry of the partition's heap state store.
 * It costs O(state), as checkpoints did before the state store; a changelog topic replaces it.
 * Checkpoints written before the store (the parts alone) restore as they are.
 */
export function wholeCheckpoints(checkpoints: CheckpointStore, options: StateStoreOptions = {}): StateCheckpoints {
  const store = createHeapStateStore(options)
  const heap = (job: string, topic: string, partition: number) => store.partition(spaceOf(job, topic), partition)
  return {
    async open(job, topic, partition) {
      const state = heap(job, topic, partition)
      await state.clear()
      const saved = await checkpoints.load(job, topic, partition)
      if (saved === undefined) return { state, checkpoint: undefined }
      const { whole, entries } = decodeWhole(saved.state)
      await state.commit({ nextOffset: saved.nextOffset, savedAt: saved.savedAt, whole, entries })
      return { state, checkpoint: state.checkpoint() }
    },
    stage(job, topic, partition, changes) {
      const state = heap(job, topic, partition)
      const staged = state.stage(changes)
      return {
        async commit() {
          await staged.commit()
          const bytes = encodeWhole(changes.whole, state.storedEntries())
          await checkpoints.save({ job, topic, partition, nextOffset: changes.nextOffset, state: bytes, savedAt: changes.savedAt })
        },
      }
    },
    stats: () => store.stats(),
    close: () => store.close(),
  }
}

/** Layout: magic (u32), the whole parts (bytes), then per entry its key (string) and value (bytes). */
export function encodeWhole(whole: Uint8Array, entries: Iterable<[string, Uint8Array]>): Uint8Array {
  const writer = new ByteWriter(whole.byteLength + 1_024)
  writer.u32(WHOLE_MAGIC)
  writer.bytes(whole)
  for (const [key, value] of entries) {
    writer.string(key)
    writer.bytes(value)
  }
  return writer.finish()
}

export function decodeWhole(bytes: Uint8Array): { whole: Uint8Array; entries: Map<string, Uint8Array | null> } {
  const entries = new Map<string, Uint8Array | null>()
  const reader = new ByteReader(bytes)
  if (bytes.byteLength < 4 || reader.u32() !== WHOLE_MAGIC) return { whole: bytes, entries }
  try {
    const whole = reader.bytes()
    while (!reader.done()) entries.set(reader.string(), reader.bytes())
    return { whole, entries }
  } catch (error) {
    // Named for the operator who reads the log: which checkpoint, and that it is cut short.
    throw new Error(`whole checkpoint: an entry runs past the end (${(error as Error).message})`)
  }
}
