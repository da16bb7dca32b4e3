import { statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { crc32c } from '@node-rs/crc32'
import { open, type Database, type RootDatabase } from 'lmdb'
import { compareCodePoints } from './key-order.ts'
import { checkLmdbDataFile } from './lmdb-file-check.ts'
import { StagingPartition } from './staging-partition.ts'
import { DEFAULT_CACHE_BYTES, StateStoreCorruptError, type CommittedCheckpoint, type KeyBounds, type StateCommit, type StateEntry, type StateStore, type StateStoreOptions, type StateStoreStats } from './store.ts'

/**
 * The state store on disk, in LMDB (lmdb-js): a B+tree in one memory-mapped file, read
 * synchronously without a copy into the heap until a value is asked for, written in transactions
 * that a background thread commits. docs/ARCHITECTURE.md "Processor state" says why LMDB and not
 * RocksDB, as measured on this machine.
 *
 * Layout: one database per job; in it, each partition's keys behind `<partition>\x01`, and its
 * checkpoint (offset, time, the parts kept whole) at `<partition>\x00`. A commit writes both in
 * one transaction, and resolves only once that transaction is flushed to disk. Keys are the
 * UTF-8 bytes of the strings, not lmdb-js's ordered-binary encoding, which reads a key with a NUL
 * inside back as an array: keys hold ids from clients, and one such id would stop its partition.
 *
 * Every value and checkpoint carries a CRC-32C of its bytes: LMDB checks nothing of what it
 * returns, so a damaged page would otherwise be read as state, and counts would go silently wrong.
 * A file cut short is refused before it is mapped (lmdb-file-check.ts). Either way the error names
 * the file and what to do.
 */
export interface LmdbStateStoreOptions extends StateStoreOptions {
  /** A directory of its own: LMDB keeps data.mdb and lock.mdb in it. */
  readonly path: string
}

/** LMDB refuses longer keys; callers build keys from bounded ids, so a longer one is a bug. */
const MAX_KEY_BYTES = 1_900
/** The checkpoint written before checksums: the offset, the time, the parts kept whole. */
const UNCHECKED_FORMAT = 1
/** The checkpoint behind a CRC-32C of its bytes, as every value is. */
const CHECKPOINT_FORMAT = 2
const CRC_BYTES = 4
/** A job's database in this layout; the job's name alone is the layout before it (ordered-binary keys, no checksums). */
const databaseName = (job: string) => `${job} utf8-keys`

type Db = Database<Uint8Array, Buffer>

/**
 * Directories a store of this process has open. LMDB does not support one environment opened twice
 * in a process, and two stores there would each take the other's partitions for their own (two
 * processor instances in one process sharing a data dir): the second is refused.
 */
const openPaths = new Set<string>()

const READ_KEY_BYTES = 4 * MAX_KEY_BYTES
const readKeyBuffer = Buffer.allocUnsafe(READ_KEY_BYTES)

export function createLmdbStateStore(options: LmdbStateStoreOptions): StateStore {
  const file = join(options.path, 'data.mdb')
  const path = resolve(options.path)
  if (openPaths.has(path)) throw new Error(`the state store ${path} is already open in this process: each processor instance needs a data dir of its own (EDDY_DATA_DIR)`)
  checkLmdbDataFile(file)
  // noSubdir: lmdb-js otherwise takes a path whose last name has a dot for a file.
  const root: RootDatabase = open({ path: options.path, maxDbs: 64, encoding: 'binary', compression: false, noSubdir: false })
  openPaths.add(path)
  const databases = new Map<string, Db>()
  const partitions = new Map<string, LmdbPartition>()
  const database = (job: string) => {
    let db = databases.get(job)
    if (db === undefined) {
      db = root.openDB<Uint8Array, Buffer>(databaseName(job), { encoding: 'binary', keyEncoding: 'binary', compression: false })
      upgradeOldLayout(root, job, db)
      databases.set(job, db)
    }
    return db
  }
  return {
    kind: 'lmdb',
    partition(job, partition) {
      const name = `${job}/${partition}`
      let store = partitions.get(name)
      if (store === undefined) partitions.set(name, (store = new LmdbPartition(root, database(job), partition, options.cacheBytes ?? DEFAULT_CACHE_BYTES, `${file} (job ${job}, partition ${partition})`)))
      return store
    },
    stats(): StateStoreStats {
      let entries = 0
      for (const db of databases.values()) entries += (db.getStats() as { entryCount: number }).entryCount
      return { bytesOnDisk: statSync(file).size, entries }
    },
    async close() {
      // A commit still queued would start its transaction on a closed environment.
      await Promise.all([...partitions.values()].map((partition) => partition.settled()))
      await root.flushed
      await root.close()
      openPaths.delete(path)
      databases.clear()
      partitions.clear()
    },
  }
}

/**
 * A job written by the first release of the store (its database named after the job, keys in
 * ordered-binary, values without checksums) moves into this layout once, in one transaction.
 */
function upgradeOldLayout(root: RootDatabase, job: string, db: Db): void {
  let exists = false
  for (const name of root.getKeys()) if (name === job) exists = true
  if (!exists) return
  const old = root.openDB<Uint8Array, string>(job, { encoding: 'binary', compression: false })
  root.transactionSync(() => {
    for (const { key, value } of old.getRange({})) {
      const name = String(key)
      const bytes = value as Uint8Array
      const isCheckpoint = /^\d+\u0000$/.test(name)
      db.putSync(Buffer.from(name, 'utf8'), isCheckpoint ? encodeCheckpoint(decodeUncheckedCheckpoint(bytes)) : withChecksum(bytes))
    }
    old.dropSync()
  })
}

class LmdbPartition extends StagingPartition {
  private readonly keyPrefix: string
  private readonly checkpointKey: Buffer
  /** The first key after this partition's entries. */
  private readonly partitionEnd: Buffer

  constructor(
    private readonly root: RootDatabase,
    private readonly db: Db,
    partition: number,
    cacheBytes: number,
    private readonly file: string,
  ) {
    super(cacheBytes)
    this.keyPrefix = `${partition}\u0001`
    this.checkpointKey = Buffer.from(`${partition}\u0000`)
    this.partitionEnd = Buffer.from(`${partition}\u0002`)
  }

  private keyOf(key: string): Buffer {
    return Buffer.from(this.keyPrefix + key, 'utf8')
  }

  /** The key in a buffer reused by every read: a read is the processors' commonest call, and lmdb copies the key at once. */
  private readKey(key: string): Buffer {
    if ((this.keyPrefix.length + key.length) * 3 > READ_KEY_BYTES) return this.keyOf(key)
    const length = readKeyBuffer.write(this.keyPrefix, 0, 'latin1')
    return readKeyBuffer.subarray(0, length + readKeyBuffer.write(key, length, 'utf8'))
  }

  protected storedGet(key: string): Uint8Array | undefined {
    const value = this.db.getBinary(this.readKey(key))
    return value === undefined ? undefined : this.verified(key, value)
  }

  /** The value without its checksum, or an error naming the file and key when they disagree. */
  private verified(key: string, value: Uint8Array): Uint8Array {
    if (value.byteLength < CRC_BYTES) throw new StateStoreCorruptError(this.file, `the entry ${JSON.stringify(key)} is ${value.byteLength} bytes, too short for its checksum`)
    const payload = value.subarray(CRC_BYTES)
    const expected = (value[0]! | (value[1]! << 8) | (value[2]! << 16) | (value[3]! << 24)) >>> 0
    if (crc32c(payload) !== expected) throw new StateStoreCorruptError(this.file, `the entry ${JSON.stringify(key)} fails its checksum`)
    return payload
  }

  protected *storedRange(prefix: string, bounds: KeyBounds): Iterable<StateEntry> {
    const from = bounds.from !== undefined && compareCodePoints(bounds.from, prefix) > 0 ? bounds.from : prefix
    const end = bounds.until === undefined ? this.partitionEnd : this.keyOf(bounds.until)
    const full = this.keyPrefix + prefix
    const cut = this.keyPrefix.length
    for (const { key, value } of this.db.getRange({ start: this.keyOf(from), end })) {
      const name = (key as Buffer).toString('utf8')
      if (!name.startsWith(full)) return
      yield { key: name.slice(cut), value: this.verified(name.slice(cut), value as Uint8Array) }
    }
  }

  protected storedCheckpoint(): CommittedCheckpoint | undefined {
    const bytes = this.db.getBinary(this.checkpointKey)
    return bytes === undefined ? undefined : decodeCheckpoint(bytes, this.file)
  }

  protected override validate(changes: StateCommit): void {
    for (const key of changes.entries.keys()) {
      if (Buffer.byteLength(key) + this.keyPrefix.length > MAX_KEY_BYTES) throw new Error(`state key of ${Buffer.byteLength(key)} bytes is longer than the store allows`)
    }
  }

  protected async write(changes: StateCommit): Promise<void> {
    // Single asynchronous operations, all queued in this one synchronous run: lmdb-js puts every
    // operation of an event turn in one transaction (eventTurnBatching, on by default), so the
    // entries and the checkpoint that names their offset commit together or not at all. LMDB's
    // own work (the B-tree, the pages, the commit) then runs on lmdb-js's write thread, not on
    // the processors': a transaction callback with putSync ran all of it on this thread, up to a
    // few hundred milliseconds a second at 15,000 events/s.
    for (const [key, value] of changes.entries) {
      if (value === null) void this.db.remove(this.keyOf(key))
      else void this.db.put(this.keyOf(key), withChecksum(value))
    }
    // Queued last, in the same transaction: it resolves once that transaction is durable.
    if (!(await this.db.put(this.checkpointKey, encodeCheckpoint(changes)))) throw new Error(`the state store did not write the checkpoint of ${this.file}`)
    await this.root.flushed
  }

  protected async wipe(): Promise<void> {
    await this.db.transaction(() => {
      for (const key of this.db.getKeys({ start: Buffer.from(this.keyPrefix), end: this.partitionEnd })) this.db.removeSync(key as Buffer)
      this.db.removeSync(this.checkpointKey)
    })
    await this.root.flushed
  }
}

function withChecksum(value: Uint8Array): Buffer {
  const bytes = Buffer.allocUnsafe(CRC_BYTES + value.byteLength)
  bytes.writeUInt32LE(crc32c(value), 0)
  bytes.set(value, CRC_BYTES)
  return bytes
}

/** Format 2: the format byte, a CRC-32C of what follows, the offset and time, then the parts kept whole. */
function encodeCheckpoint(checkpoint: StateCommit | CommittedCheckpoint): Buffer {
  const bytes = Buffer.allocUnsafe(1 + CRC_BYTES + 16 + checkpoint.whole.byteLength)
  bytes.writeUInt8(CHECKPOINT_FORMAT, 0)
  bytes.writeDoubleLE(checkpoint.nextOffset, 5)
  bytes.writeDoubleLE(checkpoint.savedAt, 13)
  bytes.set(checkpoint.whole, 21)
  bytes.writeUInt32LE(crc32c(bytes.subarray(5)), 1)
  return bytes
}

function decodeCheckpoint(bytes: Uint8Array, file: string): CommittedCheckpoint {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.readUInt8(0) !== CHECKPOINT_FORMAT) throw new StateStoreCorruptError(file, `its checkpoint is in format ${buffer.readUInt8(0)}, which this release does not read`)
  if (buffer.byteLength < 21 || crc32c(buffer.subarray(5)) !== buffer.readUInt32LE(1)) throw new StateStoreCorruptError(file, 'its checkpoint fails its checksum')
  return { nextOffset: buffer.readDoubleLE(5), savedAt: buffer.readDoubleLE(13), whole: buffer.subarray(21) }
}

function decodeUncheckedCheckpoint(bytes: Uint8Array): CommittedCheckpoint {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.readUInt8(0) !== UNCHECKED_FORMAT) throw new Error(`state checkpoint format ${buffer.readUInt8(0)} is not one this release reads`)
  return { nextOffset: buffer.readDoubleLE(1), savedAt: buffer.readDoubleLE(9), whole: buffer.subarray(17) }
}
