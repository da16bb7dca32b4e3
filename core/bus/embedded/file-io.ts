/**
 * The few file operations the log needs, behind an injectable opener so tests can make a write or
 * an fsync fail (ENOSPC, EIO) without a full disk. Node's FileHandle satisfies `LogFile` as is;
 * it also keeps a closed handle from being reused by another file while a read is still queued.
 */
import { open } from 'node:fs/promises'

export interface LogFile {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>
  datasync(): Promise<void>
  truncate(length: number): Promise<void>
  stat(): Promise<{ size: number }>
  close(): Promise<void>
}

export type OpenFile = (path: string, flags: 'r' | 'r+' | 'wx+') => Promise<LogFile>

export const openFile: OpenFile = (path, flags) => open(path, flags)

/** Makes a created, renamed or deleted directory entry durable (Linux needs the directory fsynced). */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Reads exactly `length` bytes, looping over short reads. */
export async function readFully(file: LogFile, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await file.read(buffer, done, length - done, position + done)
    if (bytesRead === 0) return buffer.subarray(0, done)
    done += bytesRead
  }
  return buffer
}

/** Writes all of `buffer`, looping over short writes. */
export async function writeFully(file: LogFile, buffer: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < buffer.length) {
    const { bytesWritten } = await file.write(buffer, done, buffer.length - done, position + done)
    done += bytesWritten
  }
}
