/**
 * A real syslog-ng (Debian's, with syslog-ng-mod-http) for shipper tests. Like the services in
 * services.ts: without the binary a suite is skipped with the reason, unless
 * EDDY_REQUIRE_SERVICES=1 (CI installs it) makes the absence a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe } from 'vitest'
import { describeUnavailable } from './services.ts'

const CANDIDATES = ['/usr/sbin/syslog-ng', '/usr/bin/syslog-ng', '/usr/local/sbin/syslog-ng']

/** The syslog-ng binary if it is installed with its http() destination, else why not. */
export function findSyslogNg(): { path: string } | { missing: string } {
  const path = CANDIDATES.find((candidate) => existsSync(candidate))
  if (!path) return { missing: 'syslog-ng is not installed (apt-get install syslog-ng-core syslog-ng-mod-http)' }
  const probe = spawnSync(path, ['--version'], { encoding: 'utf8' })
  if (probe.status !== 0) return { missing: `${path} --version failed: ${probe.stderr}` }
  if (!/\bhttp\b/.test(probe.stdout)) return { missing: `${path} has no http module (apt-get install syslog-ng-mod-http)` }
  return { path }
}

export function describeWithSyslogNg(title: string, body: (binary: string) => void): void {
  const found = findSyslogNg()
  if ('path' in found) {
    describe(title, () => body(found.path))
    return
  }
  describeUnavailable(title, 'syslog-ng', found.missing)
}

export interface RunningSyslogNg {
  readonly pid: number
  /** What syslog-ng wrote to stderr so far (for failure messages). */
  output(): string
  stop(): Promise<void>
}

/**
 * Starts syslog-ng in the foreground with everything it writes (persist file, pid file, control
 * socket) under `directory`, unprivileged (--no-caps); stopped by its own PID.
 */
export async function startSyslogNg(binary: string, directory: string, config: string): Promise<RunningSyslogNg> {
  const configPath = join(directory, 'syslog-ng.conf')
  const pidFile = join(directory, 'syslog-ng.pid')
  writeFileSync(configPath, config)
  const child: ChildProcess = spawn(binary, [
    '-F', '--no-caps', '-e',
    '-f', configPath,
    '--persist-file', join(directory, 'syslog-ng.persist'),
    '--pidfile', pidFile,
    '--control', join(directory, 'syslog-ng.ctl'),
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 10_000
  while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`syslog-ng did not start (exit ${child.exitCode}): ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    pid: child.pid!,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        process.kill(child.pid!, 'SIGTERM')
        const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5_000)
        await exited
        clearTimeout(timer)
      }
    },
  }
}
