import { statSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database, type RootDatabase } from 'lmdb'
import { compareCodePoints } from './key-order.ts'
import { StagingPartition } from './staging-partition.ts'
import { DEFAULT_CACHE_BYTES, type CommittedCheckpoint, type KeyBounds, type StateCommit, type StateEntry, type StateStore, type StateStoreOptions, type StateStoreStats } from './store.ts'

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
export interface LmdbStateStoreOptions extends StateStoreOptions {
  /** A directory of its own: LMDB keeps data.mdb and lock.mdb in it. */
  readonly path: string
}

/** LMDB refuses longer keys; callers build keys from bounded ids, so a longer one is a bug. */
const MAX_KEY_BYTES = 1_900
const CHECKPOINT_FORMAT = 1

export function createLmdbStateStore(options: LmdbStateStoreOptions): StateStore {
  // noSubdir: lmdb-js otherwise takes a path whose last name has a dot for a file.
  const root: RootDatabase = open({ path: options.path, maxDbs: 64, encoding: 'binary', compression: false, noSubdir: false })
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
      if (store === undefined) partitions.set(name, (store = new LmdbPartition(root, database(job), partition, options.cacheBytes ?? DEFAULT_CACHE_BYTES)))
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

class LmdbPartition extends StagingPartition {
  private readonly keyPrefix: string
  private readonly checkpointKey: string

  constructor(
    private readonly root: RootDatabase,
    private readonly db: Database<Uint8Array, string>,
    partition: number,
    cacheBytes: number,
  ) {
    super(cacheBytes)
    this.keyPrefix = `${partition}\u0001`
    this.checkpointKey = `${partition}\u0000`
  }

  protected storedGet(key: string): Uint8Array | undefined {
    return this.db.getBinary(this.keyPrefix + key)
  }

  protected *storedRange(prefix: string, bounds: KeyBounds): Iterable<StateEntry> {
    const full = this.keyPrefix + prefix
    const start = bounds.from !== undefined && compareCodePoints(bounds.from, prefix) > 0 ? this.keyPrefix + bounds.from : full
    const until = bounds.until === undefined ? undefined : this.keyPrefix + bounds.until
    const cut = this.keyPrefix.length
    for (const { key, value } of this.db.getRange({ start, ...(until === undefined ? {} : { end: until }) })) {
      if (!(key as string).startsWith(full)) return
      yield { key: (key as string).slice(cut), value: value as Uint8Array }
    }
  }

  protected storedCheckpoint(): CommittedCheckpoint | undefined {
    const bytes = this.db.getBinary(this.checkpointKey)
    return bytes === undefined ? undefined : decodeCheckpoint(bytes)
  }

  protected override validate(changes: StateCommit): void {
    for (const key of changes.entries.keys()) {
      if (Buffer.byteLength(key) + this.keyPrefix.length > MAX_KEY_BYTES) throw new Error(`state key of ${Buffer.byteLength(key)} bytes is longer than the store allows`)
    }
  }

  protected async write(changes: StateCommit): Promise<void> {
    await this.db.transaction(() => {
      for (const [key, value] of changes.entries) {
        if (value === null) this.db.removeSync(this.keyPrefix + key)
        else this.db.putSync(this.keyPrefix + key, value)
      }
      this.db.putSync(this.checkpointKey, encodeCheckpoint(changes))
    })
    await this.root.flushed
  }

  protected async wipe(): Promise<void> {
    await this.db.transaction(() => {
      for (const key of this.db.getKeys({ start: this.keyPrefix, end: `${this.keyPrefix.slice(0, -1)}\u0002` })) this.db.removeSync(key)
      this.db.removeSync(this.checkpointKey)
    })
    await this.root.flushed
  }
}

function encodeCheckpoint(checkpoint: StateCommit | CommittedCheckpoint): Buffer {
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
