import { openSync, readFileSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { open } from 'lmdb'
import { afterEach, describe, expect, it } from 'vitest'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { createLmdbStateStore } from './lmdb-store.ts'
import { StateStoreCorruptError } from './store.ts'

const directories: Array<{ remove(): void }> = []
afterEach(() => {
  for (const directory of directories.splice(0)) directory.remove()
})

const MARKER = Buffer.from('eddy-state-marker-0123456789abcdef')

/** A store with one partition committed: many entries, one of them holding MARKER. */
async function writtenStore(): Promise<string> {
  const directory = temporaryDirectory('lmdb-corruption')
  directories.push(directory)
  const store = createLmdbStateStore({ path: directory.path })
  const entries = new Map<string, Uint8Array | null>()
  for (let index = 0; index < 20_000; index++) entries.set(`k/${String(index).padStart(5, '0')}`, new Uint8Array(64).fill(index % 251))
  entries.set('marked', MARKER)
  await store.partition('job', 0).commit({ nextOffset: 42, savedAt: 1, whole: new Uint8Array([1, 2, 3]), entries })
  await store.close()
  return directory.path
}

function refusal(action: () => unknown): StateStoreCorruptError {
  try {
    action()
  } catch (error) {
    expect(error).toBeInstanceOf(StateStoreCorruptError)
    return error as StateStoreCorruptError
  }
  throw new Error('expected a StateStoreCorruptError')
}

describe('a damaged LMDB state store', () => {
  it('refuses a data file cut short before mapping it, naming the file and what to do', async () => {
    const path = await writtenStore()
    const file = join(path, 'data.mdb')
    truncateSync(file, Math.floor(statSync(file).size / 2))
    // Mapped as it is, the first read past the end would kill the process with SIGBUS.
    const error = refusal(() => createLmdbStateStore({ path }))
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/cut short: its last transaction needs \d+ bytes and the file has \d+/)
    expect(error.message).toContain('move the directory away')
  })

  it('refuses a file that is not LMDB at all', async () => {
    const path = await writtenStore()
    const descriptor = openSync(join(path, 'data.mdb'), 'r+')
    writeSync(descriptor, Buffer.alloc(8_192, 0x41), 0, 8_192, 0)
    closeSync(descriptor)
    expect(refusal(() => createLmdbStateStore({ path })).message).toContain('not an LMDB meta page')
  })

  it('refuses a value whose bytes changed on disk instead of reading it as state', async () => {
    const path = await writtenStore()
    const file = join(path, 'data.mdb')
    const at = readFileSync(file).indexOf(MARKER)
    expect(at).toBeGreaterThan(0)
    const descriptor = openSync(file, 'r+')
    writeSync(descriptor, Buffer.from('X'), 0, 1, at + 5)
    closeSync(descriptor)
    const store = createLmdbStateStore({ path })
    try {
      const partition = store.partition('job', 0)
      expect(partition.checkpoint()?.nextOffset).toBe(42)
      expect(Buffer.from(partition.get('k/00007')!)).toEqual(Buffer.alloc(64, 7))
      const error = refusal(() => partition.get('marked'))
      expect(error.message).toContain(`${file} (job job, partition 0): the entry "marked" fails its checksum`)
      expect(() => [...partition.range('')]).toThrow(StateStoreCorruptError)
    } finally {
      await store.close()
    }
  })

  it('gives checksums to a partition written before they existed, keeping its entries and checkpoint', async () => {
    const directory = temporaryDirectory('lmdb-unchecked')
    directories.push(directory)
    // The layout of 4540d52 and before: values as they are, checkpoint format 1 (offset, time, whole).
    const root = open({ path: directory.path, maxDbs: 64, encoding: 'binary', compression: false, noSubdir: false })
    const db = root.openDB<Uint8Array, string>('job', { encoding: 'binary', compression: false })
    const checkpoint = Buffer.alloc(17 + 2)
    checkpoint.writeUInt8(1, 0)
    checkpoint.writeDoubleLE(7, 1)
    checkpoint.writeDoubleLE(3, 9)
    checkpoint.set([9, 8], 17)
    await db.transaction(() => {
      db.putSync('0\u0001dedup/i/a', Buffer.from('first'))
      db.putSync('0\u0001dedup/i/b', Buffer.from('second'))
      db.putSync('0\u0000', checkpoint)
    })
    await root.close()

    for (let round = 0; round < 2; round++) {
      const store = createLmdbStateStore({ path: directory.path })
      const partition = store.partition('job', 0)
      expect(partition.checkpoint()).toEqual({ nextOffset: 7, savedAt: 3, whole: Buffer.from([9, 8]) })
      expect(Buffer.from(partition.get('dedup/i/a')!).toString()).toBe('first')
      expect([...partition.range('dedup/')].map(({ key, value }) => `${key}=${Buffer.from(value).toString()}`)).toEqual(['dedup/i/a=first', 'dedup/i/b=second'])
      await store.close()
    }
  })
})
