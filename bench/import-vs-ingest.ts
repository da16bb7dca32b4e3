import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startPipeline } from '../cli/pipeline.ts'
import { createRuntime } from '../cli/runtime.ts'
import { openLineSource } from '../cli/transfer/line-reader.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { generateTraffic } from '../traffic/generator.ts'
import type { ChildMemory } from './memory.ts'
import { benchConfig, importOnto, quietLogger, WRITE_KEY } from './reprocess-support.ts'
import { summarise, type Summary } from './stats.ts'

export interface ImportFigures {
  readonly events: number
  readonly concurrency: number
  readonly importEventsPerSec: Summary
  readonly ingestEventsPerSec: Summary
  /** import / ingest, from the medians. */
  readonly ratio: number
}

export interface ImportBenchOptions {
  readonly events: number
  readonly runs: number
  readonly onProgress: (line: string, force?: boolean) => void
  readonly children?: ChildMemory
}

/** As bench/pipeline-sender.ts runs it. */
const CONCURRENCY = 8
/** The ingest side stops by itself: a sender that never reports fails the run. */
const SENDER_TIMEOUT_MS = 10 * 60_000

/**
 * Issue 18's second figure: the same clicks, written once as an NDJSON file of Segment calls
 * (the generator's payloads, one a line, as Segment's archives hold them), either imported with
 * `eddy import`'s path (importLines reading the file, publishing onto the bus of a fresh runtime)
 * or sent to a running ingest's /v1/batch at batch 100 by a child process. Each side counts until
 * its last event is acknowledged, on a fresh data dir each; the sides alternate across runs.
 */
export async function benchImportVsIngest(options: ImportBenchOptions): Promise<ImportFigures> {
  const files = temporaryDirectory('bench-import-file')
  const file = join(files.path, 'clicks.ndjson')
  const span = 5 * 60_000
  const traffic = generateTraffic({ seed: 18, events: options.events, startMs: Date.now() - span, spanMs: span, mix: { click: 1, log: 0, notification: 0 } })
  writeFileSync(file, `${traffic.map((event) => JSON.stringify(event.payload)).join('\n')}\n`)
  const samples = { import: [] as number[], ingest: [] as number[] }
  try {
    for (let run = 1; run <= options.runs; run++) {
      for (const side of run % 2 === 1 ? ['import', 'ingest'] as const : ['ingest', 'import'] as const) {
        const rate = side === 'import' ? await importSide(file, traffic.length) : await ingestSide(file, traffic.length, options.children)
        options.onProgress(`import vs ingest: ${side} ${rate.toLocaleString('en-US')} events/s (${traffic.length.toLocaleString('en-US')} clicks), run ${run}/${options.runs}`, true)
        samples[side].push(rate)
      }
    }
  } finally {
    files.remove()
  }
  const importEventsPerSec = summarise(samples.import)
  const ingestEventsPerSec = summarise(samples.ingest)
  return { events: traffic.length, concurrency: CONCURRENCY, importEventsPerSec, ingestEventsPerSec, ratio: Math.round((importEventsPerSec.median / ingestEventsPerSec.median) * 100) / 100 }
}

async function importSide(file: string, events: number): Promise<number> {
  const directory = temporaryDirectory('bench-import')
  const config = benchConfig(directory.path)
  const runtime = createRuntime(config, quietLogger())
  try {
    const source = await openLineSource(file, { maxLineBytes: config.ingest.maxEventBytes })
    const { accepted, seconds } = await importOnto(runtime, [source])
    if (accepted !== events) throw new Error(`import accepted ${accepted} of ${events} events`)
    return Math.round(accepted / seconds)
  } finally {
    await runtime.close()
    directory.remove()
  }
}

async function ingestSide(file: string, events: number, children?: ChildMemory): Promise<number> {
  const directory = temporaryDirectory('bench-import-ingest')
  // Ingest's per-key rate limit (500 requests/s) would cap the figure below what ingest does.
  const runtime = createRuntime(benchConfig(directory.path, { EDDY_RATE_LIMIT_INGEST_BURST: '0' }), quietLogger())
  const pipeline = await startPipeline(runtime, { ingest: true, process: false, api: false })
  const sender = fork(join(import.meta.dirname, 'batch-sender.ts'), [pipeline.url, WRITE_KEY, file, String(CONCURRENCY)], { execArgv: ['--import', 'tsx'] })
  try {
    let timer: NodeJS.Timeout | undefined
    const result = await new Promise<{ accepted: number; rejected: number; seconds: number; peakRssMb: number }>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the batch sender did not finish within ${SENDER_TIMEOUT_MS / 60_000} minutes`)), SENDER_TIMEOUT_MS)
      sender.on('message', (message: { done?: boolean; accepted: number; rejected: number; seconds: number; peakRssMb: number }) => { if (message.done) resolve(message) })
      sender.once('exit', (code) => reject(new Error(`the batch sender exited with ${code} before reporting`)))
    }).finally(() => clearTimeout(timer))
    children?.reported('batch sender', result.peakRssMb)
    if (result.accepted !== events) throw new Error(`ingest accepted ${result.accepted} of ${events} events`)
    return Math.round(result.accepted / result.seconds)
  } finally {
    if (sender.exitCode === null) sender.kill()
    await pipeline.stop()
    directory.remove()
  }
}
