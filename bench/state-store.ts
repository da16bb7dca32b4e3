/**
 * State store bench: reads and writes per second through the StateStore port (LMDB and heap
 * adapters) against the bare LMDB library on the same keys, so the port's own cost shows; and,
 * when `@nxtedition/rocksdb` is installed (`npm install --no-save @nxtedition/rocksdb`), the same
 * on RocksDB, the comparison docs/ARCHITECTURE.md "Processor state" rests on.
 *
 * The keys look like the deduplicator's (a part name, then an event id), values are 16 bytes
 * (an id's time and arrival). Writes are commits of 5,000 entries, each waited for until it is on
 * disk, as a checkpoint waits; reads are random gets of stored keys (hits), of absent keys
 * (misses: most ids a deduplicator looks up are new), and one scan of every key in order.
 */
import { open } from 'lmdb'
import { createHeapStateStore } from '../processors/state/heap-store.ts'
import { createLmdbStateStore } from '../processors/state/lmdb-store.ts'
import type { StateStore } from '../processors/state/store.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'

export interface StateStoreFigures {
  readonly writesPerSec: number
  readonly readHitsPerSec: number
  readonly readMissesPerSec: number
  readonly scannedPerSec: number
}

export interface StateStoreBench {
  readonly keys: number
  readonly lmdbBare: StateStoreFigures
  readonly lmdbPort: StateStoreFigures
  readonly heapPort: StateStoreFigures
  /** Only when @nxtedition/rocksdb is installed. */
  readonly rocksdbBare?: StateStoreFigures
}

const COMMIT = 5_000
const VALUE = new Uint8Array(16).fill(7)

function keysOf(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `dedup/${((index * 2_654_435_761) >>> 0).toString(16).padStart(8, '0')}-${index.toString(36)}-4c1f-9a`)
}

/** A read order that visits keys all over the tree, as events from many visitors do. */
function scattered(count: number, reads: number): number[] {
  return Array.from({ length: reads }, (_, index) => (index * 7_919) % count)
}

function perSecond(operations: number, run: () => void): number {
  const started = performance.now()
  run()
  return Math.round(operations / ((performance.now() - started) / 1_000))
}

async function perSecondAsync(operations: number, run: () => Promise<void>): Promise<number> {
  const started = performance.now()
  await run()
  return Math.round(operations / ((performance.now() - started) / 1_000))
}

async function benchPort(store: StateStore, keys: string[], order: number[]): Promise<StateStoreFigures> {
  const partition = store.partition('bench', 0)
  const writesPerSec = await perSecondAsync(keys.length, async () => {
    for (let start = 0; start < keys.length; start += COMMIT) {
      const entries = new Map<string, Uint8Array | null>()
      for (let index = start; index < Math.min(keys.length, start + COMMIT); index++) entries.set(keys[index]!, VALUE)
      await partition.commit({ nextOffset: start + COMMIT, savedAt: 0, whole: VALUE, entries })
    }
  })
  let found = 0
  const readHitsPerSec = perSecond(order.length, () => {
    for (const index of order) if (partition.get(keys[index]!) !== undefined) found++
  })
  if (found !== order.length) throw new Error(`the ${store.kind} store found ${found} of ${order.length} keys it was given`)
  const readMissesPerSec = perSecond(order.length, () => {
    for (const index of order) partition.get(`dedup/absent-${index}`)
  })
  let scanned = 0
  const scannedPerSec = perSecond(keys.length, () => {
    for (const entry of partition.range('dedup/')) if (entry.value.length === 16) scanned++
  })
  if (scanned !== keys.length) throw new Error(`the ${store.kind} store scanned ${scanned} of ${keys.length} keys`)
  return { writesPerSec, readHitsPerSec, readMissesPerSec, scannedPerSec }
}

async function benchLmdbBare(path: string, keys: string[], order: number[]): Promise<StateStoreFigures> {
  const db = open<Uint8Array, string>({ path, encoding: 'binary', compression: false })
  try {
    const writesPerSec = await perSecondAsync(keys.length, async () => {
      for (let start = 0; start < keys.length; start += COMMIT) {
        await db.transaction(() => {
          for (let index = start; index < Math.min(keys.length, start + COMMIT); index++) db.putSync(keys[index]!, VALUE)
        })
        await db.flushed
      }
    })
    const readHitsPerSec = perSecond(order.length, () => {
      for (const index of order) db.getBinary(keys[index]!)
    })
    const readMissesPerSec = perSecond(order.length, () => {
      for (const index of order) db.getBinary(`dedup/absent-${index}`)
    })
    const scannedPerSec = perSecond(keys.length, () => {
      for (const entry of db.getRange({ start: 'dedup/', end: 'dedup0' })) void entry.value
    })
    return { writesPerSec, readHitsPerSec, readMissesPerSec, scannedPerSec }
  } finally {
    await db.close()
  }
}

interface RocksBatch {
  put(key: Buffer, value: Uint8Array): void
  _writeSync(options: { sync: boolean }): void
}
interface RocksDb {
  open(): Promise<void>
  close(): Promise<void>
  batch(): RocksBatch
  _getManySync(keys: Buffer[]): (Uint8Array | undefined)[]
  iterator(options: { gte: Buffer; lt: Buffer }): AsyncIterable<unknown>
}

async function benchRocksBare(path: string, keys: string[], order: number[]): Promise<StateStoreFigures | undefined> {
  // Not a dependency: the comparison is run by whoever installs it, and skipped (with a line) otherwise.
  const moduleName = '@nxtedition/rocksdb'
  const rocks = (await import(moduleName).catch(() => undefined)) as { RocksLevel: new (path: string, options: object) => RocksDb } | undefined
  if (rocks === undefined) return undefined
  const db = new rocks.RocksLevel(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  try {
    const buffers = keys.map((key) => Buffer.from(key))
    const writesPerSec = perSecond(keys.length, () => {
      for (let start = 0; start < keys.length; start += COMMIT) {
        const batch = db.batch()
        for (let index = start; index < Math.min(keys.length, start + COMMIT); index++) batch.put(buffers[index]!, VALUE)
        batch._writeSync({ sync: true })
      }
    })
    // A synchronous read is what a synchronous operator needs: getManySync of one key.
    const readHitsPerSec = perSecond(order.length, () => {
      for (const index of order) db._getManySync([buffers[index]!])
    })
    const readMissesPerSec = perSecond(order.length, () => {
      for (const index of order) db._getManySync([Buffer.from(`dedup/absent-${index}`)])
    })
    const scannedPerSec = await perSecondAsync(keys.length, async () => {
      for await (const entry of db.iterator({ gte: Buffer.from('dedup/'), lt: Buffer.from('dedup0') })) void entry
    })
    return { writesPerSec, readHitsPerSec, readMissesPerSec, scannedPerSec }
  } finally {
    await db.close()
  }
}

export async function benchStateStore(options: { keys: number; onProgress: (line: string) => void }): Promise<StateStoreBench> {
  const keys = keysOf(options.keys)
  const order = scattered(options.keys, options.keys)
  const directory = temporaryDirectory('bench-state')
  try {
    options.onProgress(`state store: bare LMDB, ${options.keys.toLocaleString('en-US')} keys`)
    const lmdbBare = await benchLmdbBare(`${directory.path}/bare`, keys, order)
    options.onProgress('state store: LMDB through the port')
    const disk = createLmdbStateStore({ path: `${directory.path}/port` })
    const lmdbPort = await benchPort(disk, keys, order).finally(() => disk.close())
    options.onProgress('state store: heap through the port')
    const heap = createHeapStateStore()
    const heapPort = await benchPort(heap, keys, order).finally(() => heap.close())
    options.onProgress('state store: bare RocksDB, if installed')
    const rocksdbBare = await benchRocksBare(`${directory.path}/rocks`, keys, order)
    if (rocksdbBare === undefined) options.onProgress('state store: @nxtedition/rocksdb is not installed; its comparison is left out')
    return { keys: options.keys, lmdbBare, lmdbPort, heapPort, ...(rocksdbBare === undefined ? {} : { rocksdbBare }) }
  } finally {
    directory.remove()
  }
}
