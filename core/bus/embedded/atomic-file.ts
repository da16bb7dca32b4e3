/**
 * Replaces a small file so that a crash leaves either the old or the new content, never a mix:
 * write a temp file, fsync it, rename over the target, fsync the directory.
 */
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { syncDirectory } from './file-io.ts'

let sequence = 0

export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${process.pid}.${sequence++}.tmp`)
  try {
    const handle = await open(temp, 'w')
    try {
      await handle.writeFile(content)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
  } catch (error) {
    // A failed write (a full disk) leaves no temp file behind for the next attempt to add to.
    await rm(temp, { force: true }).catch(() => {})
    throw error
  }
  await syncDirectory(dir)
}
