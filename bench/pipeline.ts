import { fork } from 'node:child_process'
import { join } from 'node:path'
import pino from 'pino'
import { startPipeline } from '../cli/pipeline.ts'
import { createRuntime } from '../cli/runtime.ts'
import { loadConfig } from '../core/config/index.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import type { ChildMemory } from './memory.ts'
import { summarise, type Summary } from './stats.ts'

export interface PipelineCapacityFigure {
  readonly events: number
  /** Events stored per second: from the first request until every accepted event has its raw row. */
  readonly eventsPerSec: number
  /** Events acknowledged (202) per second while the sender ran. */
  readonly acceptedPerSec: number
  /** Seconds between the last 202 and the last raw row: how far processing trailed ingest. */
  readonly drainSeconds: number
  /** p99 of the sender's requests (100 events each), from the first attempt to the 202. */
  readonly ingestP99Ms: number
  readonly peakHeapMb: number
}

export interface PipelineCapacitySummary {
  readonly events: number
  readonly concurrency: number
  readonly eventsPerSec: Summary
  readonly acceptedPerSec: Summary
  readonly drainSeconds: Summary
  readonly ingestP99Ms: Summary
  readonly peakHeapMb: Summary
}

export type PipelineMode = 'worker' | 'main' | 'ingest'

type Options = {
  readonly events?: number
  readonly concurrency?: number
  /**
   * worker or main: `eddy start` with EDDY_PROCESSOR_THREAD so; ingest: the same process without
   * the processors and the api, what a 202 costs with nothing else on the machine.
   */
  readonly mode?: PipelineMode
  readonly onProgress?: (line: string, force?: boolean) => void
  readonly children?: ChildMemory
}

export async function benchPipelineCapacityRuns(runs: number, options: Options = {}): Promise<PipelineCapacitySummary> {
  const figures: PipelineCapacityFigure[] = []
  for (let run = 1; run <= runs; run++) {
    const label = `pipeline capacity (${options.mode ?? 'worker'})`
    options.onProgress?.(`${label}: run ${run}/${runs}`, true)
    const figure = await benchPipelineCapacity({ ...options, seed: 40 + run })
    options.onProgress?.(`${label}: ${figure.eventsPerSec.toLocaleString('en-US')} events/s stored, ${figure.acceptedPerSec.toLocaleString('en-US')} accepted (p99 ${figure.ingestP99Ms} ms), drained ${figure.drainSeconds} s after the last 202`, true)
    figures.push(figure)
  }
  const of = (pick: (figure: PipelineCapacityFigure) => number) => summarise(figures.map(pick))
  return {
    events: figures[0]!.events,
    concurrency: options.concurrency ?? 8,
    eventsPerSec: of((f) => f.eventsPerSec),
    acceptedPerSec: of((f) => f.acceptedPerSec),
    drainSeconds: of((f) => f.drainSeconds),
    ingestP99Ms: of((f) => f.ingestP99Ms),
    peakHeapMb: of((f) => f.peakHeapMb),
  }
}

/**
 * What one all-in-one process (`eddy start` on the embedded defaults: ingest, processors, api,
 * chDB) sustains end to end on the traffic model's mix of clicks, logs and notifications: the
 * sender (a child process on the same machine) offers events as fast as they are accepted, and
 * the figure is events stored per second, counted until the last accepted event's raw row is in
 * ClickHouse. Raw rows and the jobs' aggregates come from the same batches, so a stored raw row
 * means its aggregates were written too. This is the capacity the soak's half-capacity refers to.
 */
export async function benchPipelineCapacity(options: Options & { readonly seed: number }): Promise<PipelineCapacityFigure> {
  const total = options.events ?? 300_000
  const mode = options.mode ?? 'worker'
  const directory = temporaryDirectory('bench-pipeline')
  const config = loadConfig({ EDDY_DATA_DIR: directory.path, PORT: '0', HOST: '127.0.0.1', EDDY_WRITE_KEY: 'bench-write-key', EDDY_READ_KEY: 'bench-read-key', EDDY_PROCESSOR_THREAD: mode === 'main' ? 'main' : 'worker' })
  const runtime = createRuntime(config, pino({ level: 'error' }))
  const ingestAlone = mode === 'ingest'
  const pipeline = await startPipeline(runtime, { ingest: true, process: !ingestAlone, api: !ingestAlone })
  const clickhouse = await runtime.clickhouse()
  const database = config.clickhouse.database
  // Alone, ingest stores nothing in ClickHouse: its events are stored once the log has them (the 202).
  const stored = async () => {
    if (ingestAlone) return sent?.accepted ?? 0
    const result = await clickhouse.query({
      query: `SELECT (SELECT count() FROM ${database}.events_click) + (SELECT count() FROM ${database}.events_log) + (SELECT count() FROM ${database}.events_notification) AS n`,
      format: 'JSONEachRow',
    })
    return Number((await result.json<{ n: string }>())[0]!.n)
  }
  let sent: { accepted: number; seconds: number; p99Ms: number; peakRssMb: number } | undefined
  const sender = fork(join(import.meta.dirname, 'pipeline-sender.ts'), [pipeline.url!, 'bench-write-key', String(total), String(options.seed), String(options.concurrency ?? 8)], { execArgv: ['--import', 'tsx'] })
  try {
    let started = 0
    let failed: Error | undefined
    sender.on('message', (message: { ready?: boolean; done?: boolean; accepted: number; seconds: number; p99Ms: number; peakRssMb: number }) => {
      if (message.ready) started = performance.now()
      if (message.done) sent = message
    })
    sender.once('exit', (code) => {
      if (!sent) failed = new Error(`the pipeline sender exited with ${code} before reporting`)
    })
    let peakHeap = 0
    let count = 0
    const deadline = Date.now() + 30 * 60_000
    while (!failed && Date.now() < deadline && (sent === undefined || count < sent.accepted)) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)
      count = await stored()
      options.onProgress?.(`pipeline capacity: ${count.toLocaleString('en-US')} stored${sent ? ` of ${sent.accepted.toLocaleString('en-US')} accepted` : ', sending'}`)
    }
    if (failed) throw failed
    if (!sent || count < sent.accepted) throw new Error(`pipeline capacity: ${count} of ${sent?.accepted ?? '?'} accepted events stored after 30 minutes`)
    const seconds = (performance.now() - started) / 1_000
    options.children?.reported('load sender', sent.peakRssMb)
    return {
      events: sent.accepted,
      eventsPerSec: Math.round(sent.accepted / seconds),
      acceptedPerSec: Math.round(sent.accepted / sent.seconds),
      drainSeconds: Math.round((seconds - sent.seconds) * 10) / 10,
      ingestP99Ms: Math.round(sent.p99Ms * 10) / 10,
      peakHeapMb: Math.round(peakHeap / 2 ** 20),
    }
  } finally {
    sender.kill()
    await pipeline.stop()
    directory.remove()
  }
}
