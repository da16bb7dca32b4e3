/**
 * Where a partition task's state lives off the heap. The operators are synchronous and pure, so
 * the store is read synchronously: a key not in an operator's cache is read where it is needed,
 * from memory-mapped pages, not awaited. It is written only by `commit`, one checkpoint at a time:
 * the changes since the last checkpoint and the offset they reflect become durable together, so a
 * kill -9 at any instant restores a state that matches its offset. A checkpoint then costs what
 * changed, not the whole state.
 */

/** What a checkpoint commits for one partition. The store keeps the map: the caller hands it over. */
export interface StateCommit {
  /** The first input offset not yet reflected in the state. */
  readonly nextOffset: number
  readonly savedAt: number
  /** The parts still snapshotted whole (small ones: a few windows of aggregates), replacing the last. */
  readonly whole: Uint8Array
  /** Entries changed since the last commit: bytes to store, or null to delete the key. */
  readonly entries: ReadonlyMap<string, Uint8Array | null>
}

/** The newest commit's position and whole parts, as read back on restore. */
export interface CommittedCheckpoint {
  readonly nextOffset: number
  readonly savedAt: number
  readonly whole: Uint8Array
}

export interface KeyBounds {
  /** The first key to include (whole key, prefix included). */
  readonly from?: string
  /** The first key to leave out. */
  readonly until?: string
}

export interface StateEntry {
  readonly key: string
  readonly value: Uint8Array
}

/** One (job, partition)'s state: its own key space, so partitions can move independently. */
export interface PartitionStateStore {
  /**
   * How much heap the partition's operators may keep as decoded objects for their hottest keys
   * (EDDY_STATE_CACHE_MB); the rest they read back from the store when next needed.
   */
  readonly cacheBytes: number
  /** The value of `key`, staged changes included. */
  get(key: string): Uint8Array | undefined
  /**
   * Entries whose keys start with `prefix`, in code point order (key-order.ts), from `from` and
   * before `until` when given; staged changes included. Consume an iteration before the next
   * stage or commit: it reads the store as it goes.
   */
  range(prefix: string, bounds?: KeyBounds): Iterable<StateEntry>
  /** The newest checkpoint staged or committed, or undefined for a partition never checkpointed. */
  checkpoint(): CommittedCheckpoint | undefined
  /**
   * Hands a checkpoint over: reads see its changes from now on, and `commit` on the returned
   * handle makes them durable atomically (after a crash all of it and its offset are there, or
   * none). A checkpoint is staged when its snapshot is taken and committed once the outputs it
   * reflects are written; stages commit in the order they were staged.
   */
  stage(changes: StateCommit): StagedCommit
  /** Stages and commits at once. */
  commit(changes: StateCommit): Promise<void>
  /** Drops every stage not yet committing: the partition restarts from its last commit. */
  discardStaged(): void
  /** Forgets everything of this partition (a reset, or a restore that starts over). */
  clear(): Promise<void>
}

export interface StagedCommit {
  commit(): Promise<void>
}

export interface StateStoreStats {
  /** Bytes the store's files take on disk (0 for the heap store). */
  readonly bytesOnDisk: number
  /** Entries across every partition. */
  readonly entries: number
}

/** The cache each partition gets unless configured: a few thousand visitors' paths and sessions. */
export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024

/**
 * EDDY_STATE_CACHE_MB is for the whole process: each partition of each job gets an equal share.
 * On Kafka an instance owns a subset of the partitions, and stays within the figure.
 */
export function stateCacheBytesPerPartition(totalMb: number, jobs: number, partitions: number): number {
  return Math.floor((totalMb * 1024 * 1024) / Math.max(1, jobs * partitions))
}

export interface StateStoreOptions {
  /** The heap each partition's operators may keep for hot keys (PartitionStateStore.cacheBytes). */
  readonly cacheBytes?: number
}

export interface StateStore {
  readonly kind: 'heap' | 'lmdb'
  partition(job: string, partition: number): PartitionStateStore
  stats(): StateStoreStats
  close(): Promise<void>
}

/** The state store's files cannot be used as they are: what is wrong, which file, and what to do. */
export class StateStoreCorruptError extends Error {
  override readonly name = 'StateStoreCorruptError'

  constructor(readonly file: string, problem: string) {
    super(
      `state store ${file}: ${problem}. Restore its directory from a backup, or move the directory away: ` +
        'the processors then start from their committed offsets with empty state, and windows open at the last checkpoint miss what they had counted before it',
    )
  }
}
