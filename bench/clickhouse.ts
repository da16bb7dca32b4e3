/**
 * ClickHouse insert, rows per second: realistic raw click events stored through Eddy's sink, next to
 * bare inserts of the same events on the same chDB, measured in the same run.
 *
 * The events come from the traffic model, normalised as ingest normalises them and encoded with the
 * click schema, as they are on the log. Eddy's side is the ClickHouseBatchWriter's raw path
 * (writeAvro: the datums copied into one Avro container per batch of EDDY_SINK_MAX_BATCH_ROWS rows or
 * EDDY_SINK_FLUSH_MS, inserted through the embedded engine's staged file), fed as the runner feeds
 * it: one caller per partition handing it consumer batches with up to 8 writes in flight. The
 * references, one insert after another in batches of the same size: the same containers through the
 * same staged-file insert (the floor of the writer's path), and client.insert({ values, format:
 * 'JSONEachRow' }) of the rows RAW_ROW.click builds (a plain client's way). Each run gets a fresh
 * chDB data dir and each side a freshly migrated database, dropped after it; the order of the
 * sides rotates between runs.
 */
import { performance } from 'node:perf_hooks'
import type { ClickHouseClient } from '@clickhouse/client'
import avro from 'avsc'
import pino from 'pino'
import { join } from 'node:path'
import { avroContainer } from '../core/clickhouse/avro-container.ts'
import { fileAvroInsert, type AvroInsert } from '../core/clickhouse/avro-insert.ts'
import { createClickHouseClient } from '../core/clickhouse/client.ts'
import { migrate } from '../core/clickhouse/migrate.ts'
import { loadConfig } from '../core/config/index.ts'
import { normaliseSegmentCall } from '../ingest/normalise/segment.ts'
import { UserAgentParser } from '../ingest/normalise/user-agent.ts'
import { ClickHouseBatchWriter } from '../processors/sinks/clickhouse-batch-writer.ts'
import { RAW_TABLE } from '../core/clickhouse/raw-tables.ts'
import { RAW_ROW } from '../processors/sinks/raw-rows.ts'
import { latestSchemas } from '../schemas/avro/catalog.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { summarise, type Summary } from './stats.ts'
import { generateTraffic } from '../traffic/generator.ts'

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
  /** The writer's own format and insert, bare: one Avro container per batch through the staged file. */
  readonly avroReferenceRowsPerSec: Summary
  /** eddy / Avro reference, from the medians. */
  readonly avroRatio: number
}

type Side = 'eddy' | 'Avro' | 'JSONEachRow'
const SIDES: readonly Side[] = ['eddy', 'Avro', 'JSONEachRow']
const LABEL: Record<Side, string> = { eddy: 'Eddy\'s batch writer', Avro: 'bare Avro containers, staged file', JSONEachRow: 'bare client.insert, JSONEachRow' }

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
  const { datums, rows } = clickEvents(count)
  const rates: Record<Side, number[]> = { eddy: [], Avro: [], JSONEachRow: [] }
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
        const insertAvro = fileAvroInsert(client, join(directory.path, `staging-${side}`))
        if (side === 'eddy') inserts.push(await throughWriter(insertAvro, table, datums, config.sink, config.topics.partitions))
        else if (side === 'Avro') await bareAvro(insertAvro, table, datums, config.sink.maxBatchRows)
        else await bareJson(client, table, rows, config.sink.maxBatchRows)
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
  const avroReferenceRowsPerSec = summarise(rates.Avro)
  return {
    rows: rows.length,
    batchRows: sink.maxBatchRows,
    flushIntervalMs: sink.flushIntervalMs,
    eddyInserts: summarise(inserts).median,
    eddyRowsPerSec,
    referenceRowsPerSec,
    ratio: Math.round((eddyRowsPerSec.median / referenceRowsPerSec.median) * 100) / 100,
    avroReferenceRowsPerSec,
    avroRatio: Math.round((eddyRowsPerSec.median / avroReferenceRowsPerSec.median) * 100) / 100,
  }
}

/** Returns how many inserts the writer made. */
async function throughWriter(insertAvro: AvroInsert, table: string, datums: readonly Buffer[], sink: { maxBatchRows: number; flushIntervalMs: number }, partitions: number): Promise<number> {
  let inserts = 0
  const writer = new ClickHouseBatchWriter({
    ...sink,
    insertAvro,
    logger,
    onInsert: (_table, _rows, _ms, error) => {
      if (error === undefined) inserts++
    },
  })
  const schema = CLICK.schema({ exportAttrs: true })
  let next = 0
  await Promise.all(Array.from({ length: partitions }, async () => {
    const writes: Promise<void>[] = []
    for (let start = next; start < datums.length; start = next) {
      next += RUNNER_BATCH
      writes.push(writer.writeAvro(table, schema, datums.slice(start, start + RUNNER_BATCH)))
      while (writes.length > RUNNER_WRITES_IN_FLIGHT) await writes.shift()
    }
    await Promise.all(writes)
  }))
  await writer.close()
  return inserts
}

async function bareAvro(insertAvro: AvroInsert, table: string, datums: readonly Buffer[], batchRows: number): Promise<void> {
  const schema = CLICK.schema({ exportAttrs: true })
  for (let start = 0; start < datums.length; start += batchRows) await insertAvro(table, avroContainer(schema, datums.slice(start, start + batchRows)))
}

async function bareJson(client: ClickHouseClient, table: string, rows: readonly Record<string, unknown>[], batchRows: number): Promise<void> {
  for (let start = 0; start < rows.length; start += batchRows) await client.insert({ table, values: rows.slice(start, start + batchRows), format: 'JSONEachRow' })
}

const CLICK = avro.Type.forSchema(latestSchemas().click.schema)

/** `count` click events as the processors store them (Avro datums) and as JSON rows, from six hours of modelled traffic. */
function clickEvents(count: number): { datums: Buffer[]; rows: Record<string, unknown>[] } {
  const now = Date.now()
  // Sessions are kept whole and a few calls may not normalise: ask for a little more.
  const traffic = generateTraffic({ seed: 11, events: Math.ceil(count * 1.05), startMs: now - 6 * HOUR, spanMs: 6 * HOUR, mix: { click: 1, log: 0, notification: 0 } })
  const context = { projectId: 'default', receivedAt: now, userAgent: '', country: null, bounds: { maxFutureMs: 86_400_000, retentionMs: 400 * 86_400_000 }, userAgents: new UserAgentParser() }
  const datums: Buffer[] = []
  const rows: Record<string, unknown>[] = []
  for (const item of traffic) {
    if (rows.length === count) break
    const result = normaliseSegmentCall(item.payload, 0, context)
    if (!result.ok) continue
    const datum = CLICK.toBuffer(result.event)
    datums.push(datum)
    rows.push(RAW_ROW.click(CLICK.fromBuffer(datum)))
  }
  if (rows.length < count) throw new Error(`clickhouse: the traffic model gave ${rows.length} rows, not ${count}`)
  return { datums, rows }
}
