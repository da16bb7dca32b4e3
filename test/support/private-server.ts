/**
 * A service of a fault test's own (infra/<name>/<name>.sh on a directory of its own), so killing
 * it cannot disturb the shared one other suites use (CLICKHOUSE_URL, REDIS_URL). The scripts keep
 * the port and the data in that directory, so `start()` after `kill()` brings the same server back
 * where clients expect it. Everything runs asynchronously: a test that hosts Eddy in its own
 * process must not block Eddy's event loop while a server starts.
 */
import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { temporaryDirectory } from './temp-dir.ts'

const run = promisify(execFile)

const SERVICES = {
  clickhouse: { script: 'infra/clickhouse/clickhouse.sh', pidFile: 'pid' },
  redis: { script: 'infra/redis/redis.sh', pidFile: 'redis.pid' },
} as const

export interface PrivateServer {
  /** The address the script printed (CLICKHOUSE_URL / REDIS_URL); the same after every start. */
  readonly url: string
  readonly dir: string
  /** Starts it again on the same port and data. */
  start(): Promise<void>
  /** Stops it gracefully (the script's stop), keeping its port and data for start(). */
  stop(): Promise<void>
  /** kill -9 by its PID, as a crash or an OOM kill would; resolves once the process is gone. Returns the PID. */
  kill(): Promise<number>
  /** Stops it (TERM, then KILL) and removes its directory. */
  dispose(): Promise<void>
}

export async function startPrivateServer(name: keyof typeof SERVICES): Promise<PrivateServer> {
  const { script, pidFile } = SERVICES[name]
  const path = join(import.meta.dirname, '../..', script)
  const directory = temporaryDirectory(`${name}-fault`)
  const start = async () => {
    const { stdout } = await run('bash', [path, 'start', directory.path], { timeout: 120_000 })
    return stdout.trim().split('\n').at(-1)!.replace(/^[A-Z_]+=/, '')
  }
  let url: string
  try {
    url = await start()
  } catch (error) {
    await run('bash', [path, 'stop', directory.path]).catch(() => undefined)
    directory.remove()
    throw error
  }
  const watchdog = watch(path, directory.path)
  return {
    url,
    dir: directory.path,
    async start() {
      const again = await start()
      if (again !== url) throw new Error(`${name} came back at ${again}, not ${url}`)
    },
    async stop() {
      await run('bash', [path, 'stop', directory.path], { timeout: 60_000 })
    },
    async kill() {
      const pid = Number(readFileSync(join(directory.path, pidFile), 'utf8').trim())
      process.kill(pid, 'SIGKILL')
      while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50))
      return pid
    },
    async dispose() {
      watchdog.kill()
      try {
        await run('bash', [path, 'stop', directory.path], { timeout: 60_000 })
      } finally {
        directory.remove()
      }
    },
  }
}

/**
 * Stops the server and removes its directory once this (test) process is gone, should it die
 * without running its afterAll (killed, or its output pipe closed): redis-server daemonizes and the
 * ClickHouse server runs in the background, so nothing else would. As infra/service-env.sh does
 * for the shared services. Killed by dispose(), by its PID.
 */
function watch(script: string, dir: string) {
  const child = spawn('bash', ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 2; done; bash "$2" stop "$3"; rm -rf "$3"', 'watchdog', String(process.pid), script, dir], { detached: true, stdio: 'ignore' })
  child.unref()
  return child
}

/** Whether the process still runs; a zombie (killed, not yet reaped by its new parent) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}
