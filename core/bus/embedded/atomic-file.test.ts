import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { writeFileAtomic } from './atomic-file.ts'
import { tempDir } from './test-support.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

describe('writeFileAtomic', () => {
  it('replaces the file with the new content, bytes or text', async () => {
    const directory = await tempDir()
    cleanups.push(() => directory.remove())
    const path = join(directory.path, 'state')
    writeFileSync(path, 'old')
    await writeFileAtomic(path, Buffer.from([1, 2, 3]))
    expect(readFileSync(path)).toEqual(Buffer.from([1, 2, 3]))
    await writeFileAtomic(path, 'text')
    expect(readFileSync(path, 'utf8')).toBe('text')
    expect(readdirSync(directory.path)).toEqual(['state'])
  })

  it('leaves the old file and no temp file behind when it cannot replace it', async () => {
    const directory = await tempDir()
    cleanups.push(() => directory.remove())
    // A non-empty directory where the file should go: the rename over it fails.
    const path = join(directory.path, 'state')
    mkdirSync(path)
    writeFileSync(join(path, 'inside'), 'kept')
    await expect(writeFileAtomic(path, 'new')).rejects.toThrow()
    expect(readdirSync(directory.path)).toEqual(['state'])
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('kept')
  })
})
