import { statSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database, type RootDatabase } from 'lmdb'
import { compareCodePoints } from './key-order.ts'
import type { CommittedCheckpoint, KeyBounds, PartitionStateStore, StateCommit, StateEntry, StateStore, StateStoreStats } from './store.ts'

/**
 * The state store on disk, in LMDB (lmdb-js): a B+tree in one memory-mapped file, read
 * synchronously without a copy into the heap until a value is asked for, written in transactions
 * that a background thread commits. docs/ARCHITECTURE.md "Processor state" says why LMDB and not
 * RocksDB, as measured on this machine.
 *
 * Layout: one database per job; in it, each partition's keys behind `<partition>\x01`, and its
 * checkpoint (offset, time, the parts kept whole) at `<partition>\x00`. A commit writes both in
 * one transaction, and resolves only once that transaction is flushed to disk.
 */
export interface LmdbStateStoreOptions {
  /** A directory of its own: LMDB keeps data.mdb and lock.mdb in it. */
  readonly path: string
}

/** LMDB refuses longer keys; callers build keys from bounded ids, so a longer one is a bug. */
const MAX_KEY_BYTES = 1_900
const CHECKPOINT_FORMAT = 1

export function createLmdbStateStore(options: LmdbStateStoreOptions): StateStore {
  const root: RootDatabase = open({ path: options.path, maxDbs: 64, encoding: 'binary', compression: false })
  const databases = new Map<string, Database<Uint8Array, string>>()
  const partitions = new Map<string, LmdbPartition>()
  const database = (job: string) => {
    let db = databases.get(job)
    if (db === undefined) databases.set(job, (db = root.openDB<Uint8Array, string>(job, { encoding: 'binary', compression: false })))
    return db
  }
  return {
    kind: 'lmdb',
    partition(job, partition) {
      const name = `${job}/${partition}`
      let store = partitions.get(name)
      if (store === undefined) partitions.set(name, (store = new LmdbPartition(root, database(job), partition)))
      return store
    },
    stats(): StateStoreStats {
      let entries = 0
      for (const db of databases.values()) entries += (db.getStats() as { entryCount: number }).entryCount
      return { bytesOnDisk: statSync(join(options.path, 'data.mdb')).size, entries }
    },
    async close() {
      await root.flushed
      await root.close()
      databases.clear()
      partitions.clear()
    },
  }
}

class LmdbPartition implements PartitionStateStore {
  private readonly keyPrefix: string
  private readonly checkpointKey: string
  /**
   * Entries of commits not yet written. Operators let go of a value once it is in a commit, and
   * read it back from here until the transaction lands; the newest commit's value wins.
   */
  private readonly pending = new Map<string, { value: Uint8Array | null; commits: number }>()
  private pendingCheckpoint: CommittedCheckpoint | undefined
  private lastCommit: Promise<void> = Promise.resolve()

  constructor(
    private readonly root: RootDatabase,
    private readonly db: Database<Uint8Array, string>,
    partition: number,
  ) {
    this.keyPrefix = `${partition}\u0001`
    this.checkpointKey = `${partition}\u0000`
  }

  get(key: string): Uint8Array | undefined {
    const pending = this.pending.get(key)
    if (pending !== undefined) return pending.value ?? undefined
    return this.db.getBinary(this.keyPrefix + key)
  }

  *range(prefix: string, bounds: KeyBounds = {}): Iterable<StateEntry> {
    const full = this.keyPrefix + prefix
    const start = bounds.from !== undefined && compareCodePoints(bounds.from, prefix) > 0 ? this.keyPrefix + bounds.from : full
    const until = bounds.until === undefined ? undefined : this.keyPrefix + bounds.until
    const stored = this.db.getRange({ start, ...(until === undefined ? {} : { end: until }) })[Symbol.iterator]()
    const overlay = this.pendingIn(prefix, bounds)
    const cut = this.keyPrefix.length
    let next = stored.next()
    let index = 0
    for (;;) {
      let storedKey: string | undefined
      if (!next.done) {
        const key = next.value.key as string
        if (key.startsWith(full)) storedKey = key.slice(cut)
        else next = { done: true, value: undefined }
      }
      const pendingKey = overlay[index]
      if (storedKey === undefined && pendingKey === undefined) return
      const order = storedKey === undefined ? 1 : pendingKey === undefined ? -1 : compareCodePoints(storedKey, pendingKey)
      if (order < 0) {
        yield { key: storedKey!, value: next.value!.value as Uint8Array }
        next = stored.next()
        continue
      }
      if (order === 0) next = stored.next()
      index++
      const value = this.pending.get(pendingKey!)!.value
      if (value !== null) yield { key: pendingKey!, value }
    }
  }

  private pendingIn(prefix: string, bounds: KeyBounds): string[] {
    if (this.pending.size === 0) return []
    const keys: string[] = []
    for (const key of this.pending.keys()) {
      if (!key.startsWith(prefix)) continue
      if (bounds.from !== undefined && compareCodePoints(key, bounds.from) < 0) continue
      if (bounds.until !== undefined && compareCodePoints(key, bounds.until) >= 0) continue
      keys.push(key)
    }
    return keys.sort(compareCodePoints)
  }

  checkpoint(): CommittedCheckpoint | undefined {
    if (this.pendingCheckpoint !== undefined) return this.pendingCheckpoint
    const bytes = this.db.getBinary(this.checkpointKey)
    return bytes === undefined ? undefined : decodeCheckpoint(bytes)
  }

  commit(changes: StateCommit): Promise<void> {
    for (const key of changes.entries.keys()) {
      if (Buffer.byteLength(key) + this.keyPrefix.length > MAX_KEY_BYTES) throw new Error(`state key of ${Buffer.byteLength(key)} bytes is longer than the store allows`)
    }
    for (const [key, value] of changes.entries) {
      const pending = this.pending.get(key)
      this.pending.set(key, { value, commits: (pending?.commits ?? 0) + 1 })
    }
    const checkpoint = { nextOffset: changes.nextOffset, savedAt: changes.savedAt, whole: changes.whole }
    this.pendingCheckpoint = checkpoint
    const written = this.db.transaction(() => {
      for (const [key, value] of changes.entries) {
        if (value === null) this.db.removeSync(this.keyPrefix + key)
        else this.db.putSync(this.keyPrefix + key, value)
      }
      this.db.putSync(this.checkpointKey, encodeCheckpoint(checkpoint))
    })
    const commit = this.lastCommit.then(async () => {
      try {
        await written
        await this.root.flushed
      } finally {
        this.settle(changes, checkpoint)
      }
    })
    this.lastCommit = commit.catch(() => {})
    return commit
  }

  /** Drops what a finished commit (landed or failed) put in the overlay, unless a later commit holds it too. */
  private settle(changes: StateCommit, checkpoint: CommittedCheckpoint): void {
    for (const key of changes.entries.keys()) {
      const pending = this.pending.get(key)!
      if (pending.commits === 1) this.pending.delete(key)
      else pending.commits--
    }
    if (this.pendingCheckpoint === checkpoint) this.pendingCheckpoint = undefined
  }

  async clear(): Promise<void> {
    await this.lastCommit
    await this.db.transaction(() => {
      for (const key of this.db.getKeys({ start: this.keyPrefix, end: `${this.keyPrefix.slice(0, -1)}\u0002` })) this.db.removeSync(key)
      this.db.removeSync(this.checkpointKey)
    })
    await this.root.flushed
  }
}

function encodeCheckpoint(checkpoint: CommittedCheckpoint): Buffer {
  const bytes = Buffer.allocUnsafe(1 + 16 + checkpoint.whole.byteLength)
  bytes.writeUInt8(CHECKPOINT_FORMAT, 0)
  bytes.writeDoubleLE(checkpoint.nextOffset, 1)
  bytes.writeDoubleLE(checkpoint.savedAt, 9)
  bytes.set(checkpoint.whole, 17)
  return bytes
}

function decodeCheckpoint(bytes: Uint8Array): CommittedCheckpoint {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.readUInt8(0) !== CHECKPOINT_FORMAT) throw new Error(`state checkpoint format ${buffer.readUInt8(0)} is not one this release reads`)
  return { nextOffset: buffer.readDoubleLE(1), savedAt: buffer.readDoubleLE(9), whole: buffer.subarray(17) }
}
