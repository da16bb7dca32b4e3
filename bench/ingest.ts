import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { EDDY_NODE_FLAGS } from '../cli/node-flags.ts'
import autocannon from 'autocannon'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import type { ChildMemory } from './memory.ts'
import { generateTraffic } from '../traffic/generator.ts'
import { summarise, type Summary } from './stats.ts'

export interface IngestFigure {
  readonly batchSize: number
  readonly eddyEventsPerSec: Summary
  readonly eddyP99Ms: Summary
  readonly referenceEventsPerSec: Summary
  readonly referenceP99Ms: Summary
  /** eddy / reference, from the medians. */
  readonly ratio: number
}

export interface IngestBenchOptions {
  readonly batchSizes?: readonly number[]
  readonly runs?: number
  readonly durationSeconds?: number
  readonly connections?: number
  readonly onProgress?: (label: string) => void
  /** Gets each server's peak RSS before it is stopped. */
  readonly children?: ChildMemory
}

export async function startServer(mode: 'eddy' | 'kafka' | 'reference', dataDir: string, brokers?: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...EDDY_NODE_FLAGS, '--import', 'tsx', join(import.meta.dirname, 'ingest-server.ts'), mode, dataDir, ...(brokers ? [brokers] : [])], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)))
  })
  return { child, port: (JSON.parse(line) as { port: number }).port }
}

export async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** Batches of real traffic as Segment /v1/batch bodies, cycled by the load generator. */
export function bodies(batchSize: number): string[] {
  const events = generateTraffic({ seed: 1, events: 4_000, startMs: Date.now() - 600_000, spanMs: 600_000, mix: { click: 1, log: 0, notification: 0 } })
    .filter((e) => e.stream === 'click').map((e) => e.payload)
  const result: string[] = []
  for (let start = 0; start + batchSize <= events.length && result.length < 200; start += batchSize) {
    result.push(JSON.stringify({ batch: events.slice(start, start + batchSize) }))
  }
  return result
}

export async function load(port: number, body: string[], durationSeconds: number, connections: number): Promise<{ requestsPerSec: number; p99Ms: number; non2xx: number }> {
  let index = 0
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: durationSeconds,
    requests: [{
      method: 'POST',
      path: '/v1/batch',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('bench-write-key:').toString('base64')}` },
      setupRequest: (request) => ({ ...request, body: body[index++ % body.length] }),
    }],
  })
  return { requestsPerSec: result.requests.average, p99Ms: result.latency.p99, non2xx: result.non2xx }
}

/**
 * Ingest throughput into the durable embedded log by batch size, next to the bare
 * parse-and-encode route measured in the same run on the same bodies.
 */
export async function benchIngest(options: IngestBenchOptions = {}): Promise<IngestFigure[]> {
  const batchSizes = options.batchSizes ?? [1, 20, 100]
  const runs = options.runs ?? 3
  const duration = options.durationSeconds ?? 5
  const connections = options.connections ?? 32
  const figures: IngestFigure[] = []
  for (const batchSize of batchSizes) {
    const body = bodies(batchSize)
    const measured: Record<'eddy' | 'reference', { rate: number[]; p99: number[] }> = { eddy: { rate: [], p99: [] }, reference: { rate: [], p99: [] } }
    for (let run = 1; run <= runs; run++) {
      for (const mode of ['reference', 'eddy'] as const) {
        options.onProgress?.(`ingest batch ${batchSize}: ${mode} run ${run}/${runs}`)
        const directory = temporaryDirectory('bench-ingest')
        const { child, port } = await startServer(mode, directory.path)
        try {
          await load(port, body, 1, connections) // warm-up: JIT, caches, segment files
          const result = await load(port, body, duration, connections)
          if (result.non2xx > 0) throw new Error(`${mode} answered ${result.non2xx} non-2xx responses at batch ${batchSize}`)
          measured[mode].rate.push(result.requestsPerSec * batchSize)
          measured[mode].p99.push(result.p99Ms)
        } finally {
          options.children?.live(`ingest server (${mode})`, child.pid)
          await stopServer(child)
          directory.remove()
        }
      }
    }
    const eddy = summarise(measured.eddy.rate)
    const reference = summarise(measured.reference.rate)
    figures.push({
      batchSize,
      eddyEventsPerSec: eddy,
      eddyP99Ms: summarise(measured.eddy.p99),
      referenceEventsPerSec: reference,
      referenceP99Ms: summarise(measured.reference.p99),
      ratio: Math.round((eddy.median / reference.median) * 100) / 100,
    })
  }
  return figures
}
