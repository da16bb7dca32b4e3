/**
 * A private redis-server per fault test (infra/redis/redis.sh), so stopping it cannot disturb the
 * shared REDIS_URL other suites use. Restarting on the same dir keeps the port.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'

const run = promisify(execFile)
const SCRIPT = join(import.meta.dirname, '../../infra/redis/redis.sh')

export interface PrivateRedis {
  readonly url: string
  readonly dir: string
  start(): Promise<void>
  stop(): Promise<void>
  /** Stops and deletes its directory. */
  dispose(): Promise<void>
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'eddy-redis-fault-'))
  const start = async () => {
    const { stdout } = await run('bash', [SCRIPT, 'start', dir])
    return stdout.trim().replace(/^REDIS_URL=/, '')
  }
  const stop = async () => {
    await run('bash', [SCRIPT, 'stop', dir])
  }
  const url = await start()
  return {
    url,
    dir,
    start: async () => void (await start()),
    stop,
    async dispose() {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A plain client for assertions on what the adapters stored. */
export function inspector(url: string): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })
}

/** A prefix no other test shares, so suites can run against one Redis without flushing it. */
export function uniquePrefix(): string {
  return `eddy-test-${Math.random().toString(36).slice(2, 10)}:`
}

export async function eventually<T>(attempt: () => Promise<T>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await attempt()
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${(error as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
