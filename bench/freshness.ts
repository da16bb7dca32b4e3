import { fork } from 'node:child_process'
import { join } from 'node:path'
import pino from 'pino'
import { startPipeline } from '../cli/pipeline.ts'
import { createRuntime } from '../cli/runtime.ts'
import { loadConfig } from '../core/config/index.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { percentile, round } from './stats.ts'

export interface FreshnessFigure {
  readonly offeredEventsPerSec: number
  readonly seconds: number
  readonly samples: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly notSeen: number
}

/**
 * End-to-end freshness on the embedded defaults (or with `env`, e.g. on Kafka): the time from ingest's 202 to the event being
 * visible in an aggregate table (clicks_1m, through early firings), at a fixed offered load.
 * Markers are polled every 50 ms, so figures carry up to 50 ms of polling delay.
 */
export async function benchFreshness(
  options: { rate?: number; seconds?: number; onProgress?: (line: string) => void; env?: Record<string, string> } = {},
): Promise<FreshnessFigure> {
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
    sender.on('message', (message: { marker?: string; acceptedAt?: number; done?: boolean }) => {
      if (message.marker) accepted.set(message.marker, message.acceptedAt!)
      if (message.done) done = true
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
