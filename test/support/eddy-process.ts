import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { EDDY_NODE_FLAGS } from '../../cli/node-flags.ts'

const EDDY = join(import.meta.dirname, '../../bin/eddy.js')

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * An `eddy` command (`start` by default; `ingest`, `process`, `api` for the distributed roles) as
 * a child process that a test can kill -9 and start again on the same data dir.
 */
export class EddyProcess {
  private child?: ChildProcess
  private output = ''
  starts = 0

  constructor(readonly port: number, private readonly env: Record<string, string>, private readonly command = 'start') {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async start(timeoutMs = 60_000): Promise<void> {
    // A second child would orphan the first: kill() and stop() only reach the newest.
    const running = this.child
    if (running && running.exitCode === null && running.signalCode === null) throw new Error(`eddy ${this.command} on port ${this.port} is already running (PID ${running.pid})`)
    this.starts += 1
    this.output = ''
    const child = spawn(process.execPath, [...EDDY_NODE_FLAGS, EDDY, this.command], {
      // Convergence off, as in startTestPipeline: suites count late events as the live path leaves them.
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(this.port), LOG_LEVEL: 'warn', EDDY_CONVERGENCE_QUIET_MS: '0', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000)
    }
    child.stdout!.on('data', collect)
    child.stderr!.on('data', collect)
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`eddy exited with ${child.exitCode} while starting:\n${this.output}`)
      try {
        if ((await fetch(`${this.url}/readyz`)).status === 200) return
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`eddy was not ready within ${timeoutMs} ms:\n${this.output}`)
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(signal)
    await exited
  }

  /** A graceful stop (SIGTERM): requests stop, consumers drain, checkpoints and sinks flush. */
  async stop(timeoutMs = 60_000): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }

  logs(): string {
    return this.output
  }
}

/** POSTs until answered 202, retrying through refused connections and 503s, as a real client would. */
export async function postUntilAccepted(url: string, body: unknown, writeKey: string, deadlineMs = 120_000): Promise<number> {
  const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  const deadline = Date.now() + deadlineMs
  let attempts = 0
  for (;;) {
    attempts += 1
    try {
      const response = await fetch(url, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      if (response.status === 202) return attempts
      const text = await response.text()
      if (response.status < 500) throw new Error(`rejected with ${response.status}: ${text}`)
    } catch (error) {
      if ((error as Error).message.startsWith('rejected')) throw error
    }
    if (Date.now() > deadline) throw new Error(`not accepted after ${attempts} attempts`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
