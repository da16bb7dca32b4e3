import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../core/config/index.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { createRuntime, type Runtime } from '../runtime.ts'
import { startProcessorThread } from './main.ts'

const FAILING = new URL('./failing-worker.fixture.ts', import.meta.url)

describe("the processors' thread as the main thread sees it", () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  const runtimeWith = async (prefix: string): Promise<Runtime> => {
    const directory = temporaryDirectory('processor-thread')
    const runtime = createRuntime(loadConfig({ EDDY_DATA_DIR: directory.path, EDDY_TOPIC_PREFIX: prefix }), pino({ level: 'silent' }))
    cleanups.push(async () => {
      await runtime.close()
      directory.remove()
    })
    return runtime
  }

  it('refuses to start when the thread cannot, saying why', async () => {
    const runtime = await runtimeWith('cannot-start')
    await expect(startProcessorThread(runtime, await runtime.bus(), await runtime.clickhouse(), FAILING)).rejects.toThrow(/did not start: the state store is locked/)
  })

  it('says the processors are lost when the thread dies after starting, and stops cleanly after', async () => {
    const runtime = await runtimeWith('dies')
    const thread = await startProcessorThread(runtime, await runtime.bus(), await runtime.clickhouse(), FAILING)
    expect(thread.groups).toEqual([{ group: 'eddy-clickstream', topics: ['eddy.clicks'], job: 'clickstream' }])
    const lost = await thread.lost
    expect(lost.message).toMatch(/exited \(code 1\)/)
    expect(thread.alive()).toBe(false)
    await expect(thread.snapshot()).rejects.toThrow(/exited/)
    await thread.stop()
  })
})
