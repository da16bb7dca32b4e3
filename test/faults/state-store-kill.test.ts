import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createLmdbStateStore } from '../../processors/state/lmdb-store.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const WRITER = join(import.meta.dirname, 'state-store-writer.ts')

/** Runs the writer until it has printed `commits` lines, then kills it with SIGKILL wherever it is. */
async function killWriterAfter(path: string, commits: number): Promise<number> {
  // tsx as a loader in this one process: the tsx command runs the script in a child of its own,
  // which a SIGKILL of the command leaves running and writing.
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let errors = ''
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()))
  const newest = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const lines = output.trim().split('\n')
      if (lines.length >= commits) {
        child.kill('SIGKILL')
        resolve(Number(lines.at(-1)!.split(' ')[1]))
      }
    })
    child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`the writer exited (${code ?? signal}) before it was killed:\n${errors}`))
    })
  })
  if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve))
  return newest
}

describe('LMDB state store under kill -9', () => {
  const directory = temporaryDirectory('state-kill')
  afterEach(() => directory.remove())

  it('restores exactly one commit, never a mix, at or after the newest one acknowledged', async () => {
    let acknowledged = 0
    for (const round of [1, 2, 3, 4, 5]) {
      const newest = await killWriterAfter(directory.path, 3 + round)
      expect(newest).toBeGreaterThan(acknowledged)
      acknowledged = newest
      const store = createLmdbStateStore({ path: directory.path })
      try {
        const partition = store.partition('clickstream', 0)
        const checkpoint = partition.checkpoint()!
        expect(checkpoint.nextOffset).toBeGreaterThanOrEqual(acknowledged)
        const commit = checkpoint.nextOffset
        const values = new Set<string>()
        let keys = 0
        for (const entry of partition.range('dedup/')) {
          keys++
          values.add(new TextDecoder().decode(entry.value).replace(/\.+$/, ''))
        }
        expect([...values]).toEqual([String(commit)])
        expect(new TextDecoder().decode(checkpoint.whole).replace(/\.+$/, '')).toBe(String(commit))
        // An odd commit deleted the odd keys; an even one wrote them all.
        expect(keys).toBe(commit % 2 === 1 ? 1_000 : 2_000)
      } finally {
        await store.close()
      }
    }
  }, 120_000)
})
