import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BusError } from '../port.ts'
import { openFile, type LogFile, type OpenFile } from './file-io.ts'
import { createEmbeddedBus } from './index.ts'
import { openBus, readAll, records, silent, tempDir, text } from './test-support.ts'

let dir: { path: string; remove(): Promise<void> }
beforeEach(async () => {
  dir = await tempDir()
})
afterEach(async () => {
  await dir.remove()
})

/** Opens real files, but lets a test fail the next fdatasync calls and count them. */
function faultyFiles(): { open: OpenFile; failNextSyncs(count: number, code: string): void; syncs(): number } {
  let failures = 0
  let code = 'ENOSPC'
  let syncs = 0
  const open: OpenFile = async (path, flags) => {
    const file = await openFile(path, flags)
    const wrapped: LogFile = {
      write: (...args) => file.write(...args),
      read: (...args) => file.read(...args),
      truncate: (length) => file.truncate(length),
      stat: () => file.stat(),
      close: () => file.close(),
      async datasync() {
        syncs++
        if (failures > 0) {
          failures--
          throw Object.assign(new Error(`${code}: injected`), { code })
        }
        await file.datasync()
      },
    }
    return wrapped
  }
  return {
    open,
    failNextSyncs: (count, errorCode) => {
      failures = count
      code = errorCode
    },
    syncs: () => syncs,
  }
}

describe('embedded log durability', () => {
  it('rejects a failed append with a retriable BusError and never exposes its records', async () => {
    const files = faultyFiles()
    let bus = await openBus(dir.path, { openFile: files.open, healthProbeIntervalMs: 60_000 })
    await bus.producer().send('t', records(3))
    files.failNextSyncs(1, 'ENOSPC')
    const failed = bus.producer().send('t', records(4, 100))
    await expect(failed).rejects.toBeInstanceOf(BusError)
    await expect(failed).rejects.toMatchObject({ code: 'DISK_FULL', retriable: true })
    expect(bus.healthy()).toBe(false)
    expect((await bus.admin().topicOffsets('t'))[0]!.high).toBe(3)

    files.failNextSyncs(1, 'EIO')
    await expect(bus.producer().send('t', records(1, 200))).rejects.toMatchObject({ code: 'NOT_DURABLE', retriable: true })

    const metadata = await bus.producer().send('t', records(2, 3))
    expect(metadata.map((meta) => meta.offset)).toEqual([3, 4])
    expect(bus.healthy()).toBe(true)
    await bus.close()

    bus = await openBus(dir.path)
    const [all] = await readAll(bus, 't')
    expect(all!.map(text)).toEqual(['0', '1', '2', '3', '4'])
    await bus.close()
  })

  it('becomes healthy again through the probe when no traffic arrives', async () => {
    const files = faultyFiles()
    let probe: (() => void) | undefined
    const bus = await openBus(dir.path, {
      openFile: files.open,
      scheduler: {
        every(_ms, task) {
          probe = task
          return () => (probe = undefined)
        },
      },
    })
    await bus.producer().send('t', records(1))
    files.failNextSyncs(1, 'ENOSPC')
    await expect(bus.producer().send('t', records(1))).rejects.toMatchObject({ code: 'DISK_FULL' })
    expect(bus.healthy()).toBe(false)
    probe!()
    await expect.poll(() => bus.healthy()).toBe(true)
    await bus.close()
  })

  it('group-commits concurrent sends: far fewer fsyncs than calls, offsets dense and unique', async () => {
    const files = faultyFiles()
    const bus = await openBus(dir.path, { openFile: files.open })
    await bus.admin().ensureTopics([{ topic: 'g', partitions: 1 }])
    const before = files.syncs()
    const sends = await Promise.all(Array.from({ length: 200 }, (_, i) => bus.producer().send('g', records(10, i * 10))))
    expect(files.syncs() - before).toBeLessThan(20)
    const offsets = sends.flat().map((meta) => meta.offset)
    expect(new Set(offsets).size).toBe(2000)
    expect(Math.max(...offsets)).toBe(1999)
    // Within one call, records keep their order.
    for (const metadata of sends) {
      for (let i = 1; i < metadata.length; i++) expect(metadata[i]!.offset).toBe(metadata[i - 1]!.offset + 1)
    }
    await bus.close()
  })

  it('flushes queued sends on close', async () => {
    let bus = await openBus(dir.path)
    const pending = bus.producer().send('c', records(50))
    await bus.close()
    await expect(pending).resolves.toHaveLength(50)
    bus = await openBus(dir.path)
    expect((await bus.admin().topicOffsets('c'))[0]!.high).toBe(50)
    await bus.close()
  })
})

describe('data dir lock', () => {
  it('refuses a second bus on a locked data dir and names the holder', async () => {
    const bus = await openBus(dir.path)
    expect(() => createEmbeddedBus({ dataDir: dir.path, logger: silent })).toThrow(
      /locked by this process .*belongs to exactly one process/,
    )
    await writeFile(join(dir.path, 'log', '.lock'), '1\n') // PID 1 is always alive
    expect(() => createEmbeddedBus({ dataDir: dir.path, logger: silent })).toThrow(/locked by process 1\b/)
    await writeFile(join(dir.path, 'log', '.lock'), `${process.pid}\n`)
    await bus.close()
    expect(existsSync(join(dir.path, 'log', '.lock'))).toBe(false)
  })

  it('takes over a lock left by a dead process', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    await writeFile(join(dir.path, 'log', '.lock'), `${dead}\n`).catch(async () => {
      await openBus(dir.path).then((bus) => bus.close())
      await writeFile(join(dir.path, 'log', '.lock'), `${dead}\n`)
    })
    const bus = await openBus(dir.path)
    expect((await readFile(join(dir.path, 'log', '.lock'), 'utf8')).trim()).toBe(String(process.pid))
    await bus.producer().send('t', records(1))
    await bus.close()
  })
})
