import { fork } from 'node:child_process'
import { join } from 'node:path'
import pino from 'pino'
import { startPipeline } from '../cli/pipeline.ts'
import { createRuntime } from '../cli/runtime.ts'
import { loadConfig } from '../core/config/index.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import type { ChildMemory } from './memory.ts'
import { percentile, round, summarise, type Summary } from './stats.ts'

export interface FreshnessFigure {
  readonly offeredEventsPerSec: number
  readonly seconds: number
  readonly samples: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly notSeen: number
}

/** Freshness over several runs, each on a fresh data dir: medians with min/max. */
export interface FreshnessSummary {
  readonly offeredEventsPerSec: number
  readonly seconds: number
  readonly samples: Summary
  readonly p50Ms: Summary
  readonly p99Ms: Summary
  readonly maxMs: Summary
  readonly notSeen: Summary
}

type FreshnessOptions = { rate?: number; seconds?: number; onProgress?: (line: string, force?: boolean) => void; env?: Record<string, string>; children?: ChildMemory }

/** `env` is asked once per run (e.g. for a topic prefix of its own, so no run reads another's records on Kafka). */
export async function benchFreshnessRuns(runs: number, options: Omit<FreshnessOptions, 'env'> & { label?: string; env?: (run: number) => Record<string, string> } = {}): Promise<FreshnessSummary> {
  const figures: FreshnessFigure[] = []
  for (let run = 1; run <= runs; run++) {
    options.onProgress?.(`${options.label ?? 'freshness'}: ${(options.rate ?? 10_000).toLocaleString('en-US')} events/s offered for ${options.seconds ?? 20} s, run ${run}/${runs}`, true)
    const figure = await benchFreshness({ ...options, env: options.env?.(run) })
    options.onProgress?.(`${options.label ?? 'freshness'}: p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms, ${figure.notSeen} markers not seen`, true)
    figures.push(figure)
  }
  const of = (pick: (figure: FreshnessFigure) => number) => summarise(figures.map(pick))
  return {
    offeredEventsPerSec: figures[0]!.offeredEventsPerSec,
    seconds: figures[0]!.seconds,
    samples: of((f) => f.samples),
    p50Ms: of((f) => f.p50Ms),
    p99Ms: of((f) => f.p99Ms),
    maxMs: of((f) => f.maxMs),
    notSeen: of((f) => f.notSeen),
  }
}

/**
 * End-to-end freshness on the embedded defaults (or with `env`, e.g. on Kafka): the time from ingest's 202 to the event being
 * visible in an aggregate table (clicks_1m, through early firings), at a fixed offered load.
 * Markers are polled every 50 ms, so figures carry up to 50 ms of polling delay.
 */
export async function benchFreshness(options: FreshnessOptions = {}): Promise<FreshnessFigure> {
  const rate = options.rate ?? 10_000
  const seconds = options.seconds ?? 20
  const directory = temporaryDirectory('bench-freshness')
  // options.env switches parts to real servers (KAFKA_BROKERS: freshness through Kafka).
  const config = loadConfig({ EDDY_DATA_DIR: directory.path, PORT: '0', HOST: '127.0.0.1', EDDY_WRITE_KEY: 'bench-write-key', EDDY_READ_KEY: 'bench-read-key', ...options.env })
  const runtime = createRuntime(config, pino({ level: 'error' }))
  const pipeline = await startPipeline(runtime, { ingest: true, process: true, api: true })
  const clickhouse = await runtime.clickhouse()
  const accepted = new Map<string, number>()
  const latencies: number[] = []
  let done = false
  try {
    const sender = fork(join(import.meta.dirname, 'freshness-sender.ts'), [pipeline.url!, 'bench-write-key', String(rate), String(seconds)], { execArgv: ['--import', 'tsx'] })
    sender.on('message', (message: { marker?: string; acceptedAt?: number; done?: boolean; peakRssMb?: number }) => {
      if (message.marker) accepted.set(message.marker, message.acceptedAt!)
      if (message.done) done = true
      if (message.peakRssMb !== undefined) options.children?.reported('load sender', message.peakRssMb)
    })
    const deadline = Date.now() + (seconds + 30) * 1_000
    const seen = new Set<string>()
    while (Date.now() < deadline && !(done && seen.size >= accepted.size)) {
      const result = await clickhouse.query({
        query: `SELECT DISTINCT value FROM ${config.clickhouse.database}.clicks_1m WHERE project_id = 'default' AND dimension = 'path' AND startsWith(value, '/__probe/')`,
        format: 'JSONEachRow',
      })
      const now = Date.now()
      for (const { value } of await result.json<{ value: string }>()) {
        if (seen.has(value)) continue
        const at = accepted.get(value)
        if (at === undefined) continue // seen before its 202 reached us: counted when it does
        seen.add(value)
        latencies.push(Math.max(0, now - at))
      }
      options.onProgress?.(`freshness: ${seen.size}/${accepted.size} markers seen`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    sender.kill()
    return {
      offeredEventsPerSec: rate,
      seconds,
      samples: latencies.length,
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      maxMs: round(Math.max(...latencies)),
      notSeen: accepted.size - latencies.length,
    }
  } finally {
    await pipeline.stop()
    directory.remove()
  }
}
