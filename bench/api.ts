/**
 * The api under load on the embedded defaults: /stats/realtime and a 7-day hourly /stats/timeseries
 * with the query cache and without it (a second api server on the same ClickHouse with no cache),
 * then the live WebSocket fanning out one message per second to many clients. Load comes from a
 * child process (autocannon, ws clients) on 127.0.0.1. The data is seeded once; the measured
 * phases are repeated `runs` times on it and summarised as medians with min/max.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pino from 'pino'
import { startPipeline } from '../cli/pipeline.ts'
import { createRuntime } from '../cli/runtime.ts'
import { buildServer } from '../cli/server.ts'
import { loadConfig } from '../core/config/index.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import type { ChildMemory } from './memory.ts'
import { round, summariseFields, type Summary } from './stats.ts'
import { generateTraffic } from '../traffic/generator.ts'

const run = promisify(execFile)
const WRITE_KEY = 'bench-write-key'
const READ_KEY = 'bench-read-key'
const OPERATOR_KEY = 'bench-operator-key'
const DAY = 86_400_000

export interface HttpFigure {
  readonly requestsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly non2xx: number
  readonly errors: number
}

export type HttpSummary = Record<keyof HttpFigure, Summary>

export interface ApiFigures {
  readonly seededClicks: number
  /** Times the measured phases ran on the one seeded dataset. */
  readonly runs: number
  readonly endpoints: Record<string, { cached: HttpSummary; uncached: HttpSummary }>
  /** Cached realtime at a fixed offered rate (the target's 500 req/s). */
  readonly realtimeCachedAtRate: HttpSummary & { readonly offeredPerSec: number }
  readonly fanOut: Record<string, Summary> & { readonly serverCpuPercentOfOneCore: Summary }
}

/** Runs bench/api-load.ts and returns its figures; its peak RSS goes to `children` under `role`. */
async function child(args: string[], timeoutMs: number, role: string, children?: ChildMemory): Promise<any> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'api-load.ts'), ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 })
  const { peakRssMb, ...figures } = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>
  if (peakRssMb !== undefined) children?.reported(role, peakRssMb)
  return figures
}

export async function benchApi(options: { seconds?: number; clicks?: number; clients?: number; runs?: number; onProgress?: (line: string) => void; children?: ChildMemory } = {}): Promise<ApiFigures> {
  const seconds = options.seconds ?? 10
  const clicks = options.clicks ?? 100_000
  const clients = options.clients ?? 1_000
  const runs = options.runs ?? 1
  const children = options.children
  const log = options.onProgress ?? (() => undefined)
  const directory = temporaryDirectory('bench-api')
  const config = loadConfig({
    EDDY_DATA_DIR: directory.path, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error', EDDY_WRITE_KEY: WRITE_KEY, EDDY_READ_KEY: READ_KEY, EDDY_OPERATOR_KEYS: OPERATOR_KEY,
    // Limits would measure the limiter's 429s, not the api.
    EDDY_RATE_LIMIT_INGEST_BURST: '0', EDDY_RATE_LIMIT_API_BURST: '0',
  })
  const runtime = createRuntime(config, pino({ level: 'error' }))
  const pipeline = await startPipeline(runtime, { ingest: true, process: true, api: true })
  const uncachedServer = await buildServer({
    logger: pino({ level: 'silent' }), bodyLimit: 1_000_000, health: { keys: runtime.keys, checks: {} },
    api: { keys: runtime.keys, clickhouse: await runtime.clickhouse(), database: config.clickhouse.database },
  })
  try {
    const uncachedUrl = await uncachedServer.listen({ port: 0, host: '127.0.0.1' })
    await seed(pipeline.url, clicks, log)
    await caughtUp(pipeline.url, log)

    const paths: Record<string, string> = {
      realtime: '/api/v1/stats/realtime',
      'timeseries 7d hourly': '/api/v1/stats/timeseries?period=7d&interval=hour&metrics=visitors,pageviews',
    }
    const http = (url: string) => child(['http', url, READ_KEY, String(seconds), '10', '0'], (seconds + 30) * 1000, 'load generator (autocannon)', children)
    const measured: Record<string, { cached: HttpFigure[]; uncached: HttpFigure[] }> = Object.fromEntries(Object.keys(paths).map((name) => [name, { cached: [], uncached: [] }]))
    const atRate: HttpFigure[] = []
    const fanOut: Record<string, number>[] = []
    for (let repeat = 1; repeat <= runs; repeat++) {
      const of = `run ${repeat}/${runs}`
      for (const [name, path] of Object.entries(paths)) {
        log(`api: ${name}, cached, ${seconds} s as fast as 10 connections go, ${of}`)
        measured[name]!.cached.push(await http(`${pipeline.url}${path}`))
        log(`api: ${name}, uncached, ${seconds} s, ${of}`)
        measured[name]!.uncached.push(await http(`${uncachedUrl}${path}`))
      }
      log(`api: realtime, cached, 500 req/s offered for ${seconds} s, ${of}`)
      atRate.push(await child(['http', `${pipeline.url}${paths.realtime}`, READ_KEY, String(seconds), '20', '500'], (seconds + 30) * 1000, 'load generator (autocannon)', children))

      log(`api: WebSocket fan-out to ${clients} clients, ${seconds} s, ${of}`)
      const cpuBefore = process.cpuUsage()
      const wallBefore = performance.now()
      const clientFigures = await child(['ws', pipeline.url, READ_KEY, String(clients), String(seconds)], (seconds + 60) * 1000, 'load generator (ws clients)', children)
      const cpu = process.cpuUsage(cpuBefore)
      const wall = performance.now() - wallBefore
      // Includes connecting the clients; the pipeline's processors idle meanwhile.
      fanOut.push({ ...clientFigures, serverCpuPercentOfOneCore: round(((cpu.user + cpu.system) / 1000 / wall) * 100) })
    }
    const endpoints: ApiFigures['endpoints'] = Object.fromEntries(Object.entries(measured).map(([name, { cached, uncached }]) => [name, { cached: summariseFields(cached), uncached: summariseFields(uncached) }]))
    return {
      seededClicks: clicks,
      runs,
      endpoints,
      realtimeCachedAtRate: { ...summariseFields(atRate), offeredPerSec: 500 },
      fanOut: summariseFields(fanOut) as ApiFigures['fanOut'],
    }
  } finally {
    await uncachedServer.close()
    await pipeline.stop()
    directory.remove()
  }
}

/** A week of clickstream in event-time order, so the processors' windows close as they would live. */
async function seed(url: string, clicks: number, log: (line: string) => void): Promise<void> {
  const now = Date.now()
  const events = generateTraffic({ seed: 7, events: clicks, startMs: now - 7 * DAY, spanMs: 7 * DAY - 60_000, mix: { click: 1, log: 0, notification: 0 } }).map((event) => event.payload)
  const authorization = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`
  for (let start = 0; start < events.length; start += 500) {
    const response = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch: events.slice(start, start + 500) }) })
    if (response.status !== 202) throw new Error(`seeding: ${response.status} ${await response.text()}`)
    if (start % 20_000 === 0) log(`api: seeded ${start.toLocaleString('en-US')}/${events.length.toLocaleString('en-US')} clicks`)
  }
}

async function caughtUp(url: string, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + 180_000
  for (;;) {
    const health = await (await fetch(`${url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${OPERATOR_KEY}` } })).json() as { lag: number }
    if (health.lag === 0) return
    if (Date.now() > deadline) throw new Error(`processors still ${health.lag} behind`)
    log(`api: processors ${health.lag.toLocaleString('en-US')} events behind`)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
  }
}
