import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { StateStoreCorruptError } from './store.ts'

/** LMDB's meta page magic, as the little-endian u32 it is written as. */
const META_MAGIC = 0xbeefc0de
/** Where the magic can sit after the page header (16 bytes in LMDB 0.9, 24 with the page txnid of 1.0). */
const HEADER_SIZES = [16, 24]
/** From the magic: version, address, map size, then two MDB_db of 48 bytes; then last page and txnid. */
const PAGE_SIZE_AT = 24
const LAST_PAGE_AT = 120
const TXNID_AT = 128

interface Meta {
  readonly pageSize: number
  readonly lastPage: number
  readonly txnid: number
}

function readMeta(page: Buffer): Meta | undefined {
  for (const header of HEADER_SIZES) {
    if (page.length < header + TXNID_AT + 8 || page.readUInt32LE(header) !== META_MAGIC) continue
    return { pageSize: page.readUInt32LE(header + PAGE_SIZE_AT), lastPage: Number(page.readBigUInt64LE(header + LAST_PAGE_AT)), txnid: Number(page.readBigUInt64LE(header + TXNID_AT)) }
  }
  return undefined
}

/**
 * Checks an LMDB data file before it is memory-mapped: a file cut short (a disk that filled, a
 * partial copy) would otherwise kill the process with SIGBUS at the first read past its end,
 * with no word of why. The newest of the two meta pages names the last page the data needs.
 */
export function checkLmdbDataFile(file: string): void {
  if (!existsSync(file)) return
  const size = statSync(file).size
  const descriptor = openSync(file, 'r')
  try {
    const first = Buffer.alloc(256)
    const read = readSync(descriptor, first, 0, first.length, 0)
    const meta0 = readMeta(first.subarray(0, read))
    if (meta0 === undefined) throw new StateStoreCorruptError(file, 'its first page is not an LMDB meta page (not a state store file, or overwritten)')
    if (!(meta0.pageSize >= 512 && (meta0.pageSize & (meta0.pageSize - 1)) === 0)) throw new StateStoreCorruptError(file, `its meta page gives an impossible page size of ${meta0.pageSize}`)
    if (size < 2 * meta0.pageSize) throw new StateStoreCorruptError(file, `it is ${size} bytes, shorter than its two meta pages`)
    const second = Buffer.alloc(256)
    readSync(descriptor, second, 0, second.length, meta0.pageSize)
    const meta1 = readMeta(second)
    const newest = meta1 !== undefined && meta1.txnid > meta0.txnid ? meta1 : meta0
    const needed = (newest.lastPage + 1) * newest.pageSize
    if (size < needed) throw new StateStoreCorruptError(file, `it is cut short: its last transaction needs ${needed} bytes and the file has ${size}`)
  } finally {
    closeSync(descriptor)
  }
}
