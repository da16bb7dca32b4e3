import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { EDDY_NODE_FLAGS } from '../../cli/node-flags.ts'

const EDDY = join(import.meta.dirname, '../../bin/eddy.js')

/**
 * Off a terminal the progress line is written at most every 2 s (cli/transfer/progress.ts), so a
 * fast command could be done before its first line. A child started with `terminalProgress` is told its stderr is a
 * terminal: every update is then written (rewritten in place, as on a terminal), and a test can
 * kill it on the update it waits for instead of whenever a 2-second line happens to come.
 */
const STDERR_AS_TERMINAL = `--import=data:text/javascript,${encodeURIComponent("Object.defineProperty(process.stderr, 'isTTY', { value: true })")}`

/** A one-shot `eddy` command as a child process: its output, waiting on what it writes, kill -9. */
export class EddyCommand {
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stdout = ''
  stderr = ''

  constructor(args: readonly string[], env: Record<string, string>, options: { stdin?: boolean; terminalProgress?: boolean } = {}) {
    const flags = [...EDDY_NODE_FLAGS, ...(options.terminalProgress ? [STDERR_AS_TERMINAL] : [])]
    this.child = spawn(process.execPath, [...flags, EDDY, ...args], {
      env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    })
    this.child.stdout!.on('data', (chunk: Buffer) => { this.stdout += chunk.toString() })
    this.child.stderr!.on('data', (chunk: Buffer) => { this.stderr += chunk.toString() })
    // Writing to the stdin of a child just killed fails with EPIPE: that is the point, not an error.
    this.child.stdin?.on('error', () => {})
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })))
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Resolves once `done` holds for stderr so far; rejects if the child exits first. */
  async untilStderr(done: (stderr: string) => boolean, timeoutMs = 120_000): Promise<void> {
    if (done(this.stderr)) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`not seen on stderr within ${timeoutMs} ms:\n${this.stderr.slice(-2_000)}`)), timeoutMs)
      const onData = () => { if (done(this.stderr)) finish() }
      const onExit = () => finish(new Error(`eddy ${this.child.spawnargs.at(-1)} exited before it was seen:\n${this.stderr.slice(-2_000)}\n${this.stdout}`))
      const finish = (error?: Error) => {
        clearTimeout(timer)
        this.child.stderr!.off('data', onData)
        this.child.off('exit', onExit)
        if (error) reject(error)
        else resolve()
      }
      this.child.stderr!.on('data', onData)
      this.child.once('exit', onExit)
    })
  }

  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL')
    await this.exited
  }
}
