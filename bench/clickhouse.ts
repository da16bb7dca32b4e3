/**
 * ClickHouse insert, rows per second: realistic raw click rows stored through Eddy's sink, next to
 * a bare insert of the same rows on the same chDB, measured in the same run.
 *
 * The rows come from the traffic model, normalised as ingest normalises them, through an Avro round
 * trip (so they have the shape avsc decodes) and RAW_ROW.click, as the job runner builds them. Eddy's
 * side is the ClickHouseBatchWriter with the default batching (EDDY_SINK_MAX_BATCH_ROWS rows or
 * EDDY_SINK_FLUSH_MS), fed as the runner feeds it: one caller per partition handing it consumer
 * batches with up to 8 writes in flight. The reference is client.insert({ table, values, format:
 * 'JSONEachRow' }) in batches of the same size, one after another; a second one sends the writer's
 * own format, JSONCompactEachRow (rows as arrays under one column list), which chDB parses markedly
 * faster: that one is the floor of the writer's path, the first a plain client's. Each run gets a
 * fresh chDB data dir and each side a freshly migrated database, dropped after it; the order of the
 * sides rotates between runs.
 */
import { performance } from 'node:perf_hooks'
import type { ClickHouseClient } from '@clickhouse/client'
import avro from 'avsc'
import pino from 'pino'
import { createClickHouseClient } from '../core/clickhouse/client.ts'
import { migrate } from '../core/clickhouse/migrate.ts'
import { loadConfig } from '../core/config/index.ts'
import { normaliseSegmentCall } from '../ingest/normalise/segment.ts'
import { UserAgentParser } from '../ingest/normalise/user-agent.ts'
import { ClickHouseBatchWriter } from '../processors/sinks/clickhouse-batch-writer.ts'
import { RAW_ROW, RAW_TABLE } from '../processors/sinks/raw-rows.ts'
import { latestSchemas } from '../schemas/avro/catalog.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { summarise, type Summary } from './stats.ts'
import { generateTraffic } from './traffic/generator.ts'

export interface ClickHouseFigure {
  readonly rows: number
  /** The sink's batch (EDDY_SINK_MAX_BATCH_ROWS), also the reference's. */
  readonly batchRows: number
  readonly flushIntervalMs: number
  /** Inserts the writer made per run (the median). */
  readonly eddyInserts: number
  readonly eddyRowsPerSec: Summary
  /** Bare client.insert, JSONEachRow. */
  readonly referenceRowsPerSec: Summary
  /** eddy / reference, from the medians. */
  readonly ratio: number
  /** Bare client.insert in the writer's format, JSONCompactEachRow, the row-to-array step included. */
  readonly compactReferenceRowsPerSec: Summary
  /** eddy / compact reference, from the medians. */
  readonly compactRatio: number
}

type Side = 'eddy' | 'JSONEachRow' | 'JSONCompactEachRow'
const SIDES: readonly Side[] = ['eddy', 'JSONEachRow', 'JSONCompactEachRow']
const LABEL: Record<Side, string> = { eddy: 'Eddy\'s batch writer', JSONEachRow: 'bare client.insert, JSONEachRow', JSONCompactEachRow: 'bare client.insert, JSONCompactEachRow' }

/** The job runner's defaults (processors/runner.ts): records per consumer batch, writes in flight per partition. */
const RUNNER_BATCH = 5_000
const RUNNER_WRITES_IN_FLIGHT = 8
const HOUR = 3_600_000
const logger = pino({ level: 'error' })

export async function benchClickHouse(options: { rows?: number; runs?: number; onProgress?: (line: string) => void } = {}): Promise<ClickHouseFigure> {
  const runs = options.runs ?? 3
  const log = options.onProgress ?? (() => undefined)
  const count = options.rows ?? 200_000
  log(`clickhouse: building ${count.toLocaleString('en-US')} events_click rows from the traffic model`)
  const rows = clickRows(count)
  const rates: Record<Side, number[]> = { eddy: [], JSONEachRow: [], JSONCompactEachRow: [] }
  const inserts: number[] = []
  let sink = { maxBatchRows: 0, flushIntervalMs: 0 }
  for (let run = 1; run <= runs; run++) {
    const directory = temporaryDirectory('bench-clickhouse')
    const config = loadConfig({ EDDY_DATA_DIR: directory.path, PORT: '0', HOST: '127.0.0.1', EDDY_WRITE_KEY: 'bench-write-key', EDDY_READ_KEY: 'bench-read-key', LOG_LEVEL: 'error' })
    sink = config.sink
    const client = await createClickHouseClient(config)
    try {
      const database = config.clickhouse.database
      // Rotated, so a neighbour's load on the shared machine does not always fall on the same side.
      const sides = SIDES.map((_, index) => SIDES[(index + run - 1) % SIDES.length]!)
      for (const side of sides) {
        log(`clickhouse: ${LABEL[side]}, run ${run}/${runs}`)
        await migrate(client, { database, retentionDays: config.retentionDays, logger })
        const table = `${database}.${RAW_TABLE.click}`
        const started = performance.now()
        if (side === 'eddy') inserts.push(await throughWriter(client, table, rows, config.sink, config.topics.partitions))
        else await bare(client, table, rows, config.sink.maxBatchRows, side)
        const rate = rows.length / ((performance.now() - started) / 1_000)
        const stored = Number((await (await client.query({ query: `SELECT count() AS rows FROM ${table}`, format: 'JSONEachRow' })).json<{ rows: string }>())[0]?.rows)
        if (stored !== rows.length) throw new Error(`clickhouse: ${side} stored ${stored} rows of ${rows.length}`)
        rates[side].push(rate)
        log(`clickhouse: ${LABEL[side]}: ${Math.round(rate).toLocaleString('en-US')} rows/s`)
        await client.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` })
      }
    } finally {
      await client.close()
      directory.remove()
    }
  }
  const eddyRowsPerSec = summarise(rates.eddy)
  const referenceRowsPerSec = summarise(rates.JSONEachRow)
  const compactReferenceRowsPerSec = summarise(rates.JSONCompactEachRow)
  return {
    rows: rows.length,
    batchRows: sink.maxBatchRows,
    flushIntervalMs: sink.flushIntervalMs,
    eddyInserts: summarise(inserts).median,
    eddyRowsPerSec,
    referenceRowsPerSec,
    ratio: Math.round((eddyRowsPerSec.median / referenceRowsPerSec.median) * 100) / 100,
    compactReferenceRowsPerSec,
    compactRatio: Math.round((eddyRowsPerSec.median / compactReferenceRowsPerSec.median) * 100) / 100,
  }
}

/** Returns how many inserts the writer made. */
async function throughWriter(client: ClickHouseClient, table: string, rows: readonly Record<string, unknown>[], sink: { maxBatchRows: number; flushIntervalMs: number }, partitions: number): Promise<number> {
  let inserts = 0
  const writer = new ClickHouseBatchWriter({
    client,
    ...sink,
    logger,
    onInsert: (_table, _rows, _ms, error) => {
      if (error === undefined) inserts++
    },
  })
  let next = 0
  await Promise.all(Array.from({ length: partitions }, async () => {
    const writes: Promise<void>[] = []
    for (let start = next; start < rows.length; start = next) {
      next += RUNNER_BATCH
      writes.push(writer.write(table, rows.slice(start, start + RUNNER_BATCH)))
      while (writes.length > RUNNER_WRITES_IN_FLIGHT) await writes.shift()
    }
    await Promise.all(writes)
  }))
  await writer.close()
  return inserts
}

/** One insert after another; JSONCompactEachRow takes the rows' values as arrays, in the first row's key order. */
export async function bare(client: ClickHouseClient, table: string, rows: readonly Record<string, unknown>[], batchRows: number, format: 'JSONEachRow' | 'JSONCompactEachRow'): Promise<void> {
  for (let start = 0; start < rows.length; start += batchRows) {
    const batch = rows.slice(start, start + batchRows)
    if (format === 'JSONEachRow') await client.insert({ table, values: batch, format })
    else await client.insert({ table, values: batch.map((row) => Object.values(row)), columns: Object.keys(batch[0]!) as [string, ...string[]], format })
  }
}

/** `count` raw click rows as the processors store them, from six hours of modelled traffic. */
function clickRows(count: number): Record<string, unknown>[] {
  const now = Date.now()
  // Sessions are kept whole and a few calls may not normalise: ask for a little more.
  const traffic = generateTraffic({ seed: 11, events: Math.ceil(count * 1.05), startMs: now - 6 * HOUR, spanMs: 6 * HOUR, mix: { click: 1, log: 0, notification: 0 } })
  const type = avro.Type.forSchema(latestSchemas().click.schema)
  const context = { projectId: 'default', receivedAt: now, userAgent: '', country: null, bounds: { maxFutureMs: 86_400_000, retentionMs: 400 * 86_400_000 }, userAgents: new UserAgentParser() }
  const rows: Record<string, unknown>[] = []
  for (const item of traffic) {
    if (rows.length === count) break
    const result = normaliseSegmentCall(item.payload, 0, context)
    if (result.ok) rows.push(RAW_ROW.click(type.fromBuffer(type.toBuffer(result.event))))
  }
  if (rows.length < count) throw new Error(`clickhouse: the traffic model gave ${rows.length} rows, not ${count}`)
  return rows
}
