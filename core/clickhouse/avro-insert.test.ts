import avro from 'avsc'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { latestSchemas, STREAMS, type Stream } from '../../schemas/avro/catalog.ts'
import { RAW_ROW } from '../../processors/sinks/raw-rows.ts'
import { RAW_TABLE } from './raw-tables.ts'
import { describeWithService } from '../../test/support/services.ts'
import { modelEvents } from '../../test/support/model-events.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { avroContainer, avroRowsContainer } from './avro-container.ts'
import { tableRowType } from './avro-row-type.ts'
import { clickstreamJob } from '../../processors/jobs/clickstream.ts'
import { OUTPUT_TABLES } from '../../processors/bindings.ts'
import { logsJob } from '../../processors/jobs/logs.ts'
import { notificationsJob } from '../../processors/jobs/notifications.ts'
import type { JobTask, OutputRows } from '../../processors/job.ts'
import { fileAvroInsert, httpAvroInsert, type AvroInsert } from './avro-insert.ts'
import { createClickHouseClient, type ClickHouseClient } from './client.ts'
import { migrate } from './migrate.ts'

/**
 * Raw events reach their tables as Avro datums, and the jobs' aggregate rows as Avro records of a
 * type derived from each table's columns. Both must land exactly as JSON rows did (nulls,
 * timestamps, maps, UUIDs): both are inserted side by side and compared.
 */
function rawTablesTakeAvro(connect: () => Promise<{ client: ClickHouseClient; insert: AvroInsert; close(): Promise<void> }>) {
  const { clicks, logs, notifications } = modelEvents({ seed: 3, events: 1_500, startMs: Date.parse('2026-12-04T08:00:00Z'), spanMs: 3_600_000 })
  const events: Record<Stream, unknown[]> = { click: clicks, log: logs, notification: notifications }
  const suffix = Math.random().toString(36).slice(2, 8)
  const viaAvro = `eddy_avro_${suffix}`
  const viaJson = `eddy_json_${suffix}`
  let connection: Awaited<ReturnType<typeof connect>>
  beforeAll(async () => {
    connection = await connect()
    for (const database of [viaAvro, viaJson]) await migrate(connection.client, { database, retentionDays: 3650, logger: pino({ level: 'silent' }) })
  })
  afterAll(async () => {
    for (const database of [viaAvro, viaJson]) await connection?.client.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` })
    await connection?.close()
  })

  for (const stream of STREAMS) {
    it(`stores ${stream} events as the JSON rows did`, async () => {
      const { client, insert } = connection
      const type = avro.Type.forSchema(latestSchemas()[stream].schema)
      const list = events[stream]
      expect(list.length).toBeGreaterThan(50)
      expect(list.some((event) => Object.values(event as object).includes(null))).toBe(true)
      await insert(`${viaAvro}.${RAW_TABLE[stream]}`, avroContainer(type.schema({ exportAttrs: true }), list.map((event) => type.toBuffer(event))))
      const toRow = RAW_ROW[stream] as (event: unknown) => Record<string, unknown>
      await client.insert({ table: `${viaJson}.${RAW_TABLE[stream]}`, values: list.map(toRow), format: 'JSONEachRow' })
      const read = async (database: string) => (await client.query({ query: `SELECT * FROM ${database}.${RAW_TABLE[stream]} ORDER BY event_id`, format: 'JSONEachRow' })).json()
      const [avroRows, jsonRows] = [await read(viaAvro), await read(viaJson)]
      expect(avroRows).toHaveLength(list.length)
      expect(avroRows).toEqual(jsonRows)
    })
  }

  it('stores every aggregate table\'s rows as the JSON rows did', async () => {
    const { client, insert } = connection
    const rows = aggregateRows()
    for (const [output, table] of Object.entries(OUTPUT_TABLES)) {
      const list = rows[output] ?? []
      expect(list.length, output).toBeGreaterThan(0)
      await insert(`${viaAvro}.${table}`, avroRowsContainer(await tableRowType(client, viaAvro, table), list))
      await client.insert({ table: `${viaJson}.${table}`, values: list, format: 'JSONEachRow' })
      const read = async (database: string) => (await client.query({ query: `SELECT * FROM ${database}.${table} ORDER BY ALL`, format: 'JSONEachRow' })).json()
      const [avroRows, jsonRows] = [await read(viaAvro), await read(viaJson)]
      // Fewer than were sent where a ReplacingMergeTree folds revisions of one key on insert.
      expect(avroRows.length, table).toBeGreaterThan(0)
      expect(avroRows, table).toEqual(jsonRows)
    }
  })

  it('refuses a container that is not Avro, and writes nothing', async () => {
    const { client, insert } = connection
    const table = `${viaAvro}.${RAW_TABLE.log}`
    const before = await client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' }).then((result) => result.json())
    await expect(insert(table, Buffer.from('not an object container'))).rejects.toThrow()
    expect(await client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' }).then((result) => result.json())).toEqual(before)
  })
}

/** What the jobs write on the traffic model, by output: early, final and late rows, nulls included. */
function aggregateRows(): Record<string, Record<string, unknown>[]> {
  const start = Date.parse('2026-12-04T08:00:00Z')
  const { clicks, logs, notifications } = modelEvents({ seed: 4, events: 6_000, startMs: start, spanMs: 2 * 3_600_000 })
  const rows: Record<string, Record<string, unknown>[]> = {}
  // A touchy anomaly detector, so that the model's traffic raises some.
  const jobs = [[clickstreamJob(), clicks], [logsJob({ warmupMinutes: 1, minimumLines: 2, rateFloor: 0, anomalyFactor: 1.5 }), logs], [notificationsJob(), notifications]] as const
  for (const [job, events] of jobs) {
    const task = (job as { createTask(partition: number): JobTask<unknown> }).createTask(0)
    const collect = (outputs: OutputRows) => Object.entries(outputs).forEach(([output, list]) => (rows[output] ??= []).push(...(list as Record<string, unknown>[])))
    for (let index = 0; index < events.length; index += 500) {
      const now = (events[Math.min(index + 499, events.length - 1)] as { ts: number }).ts
      collect(task.process(events.slice(index, index + 500), now))
      collect(task.onProcessingTime(now + 1_000))
    }
  }
  return rows
}

describe('Avro inserts into the embedded engine (chDB, through a staged file)', () => {
  rawTablesTakeAvro(async () => {
    const directory = temporaryDirectory('avro-insert')
    const config = { clickhouse: { url: undefined, username: 'default', password: '', database: 'eddy' }, dataDir: directory.path }
    const client = await createClickHouseClient(config as Parameters<typeof createClickHouseClient>[0])
    // A data dir may hold any character; the staged file's path is a literal in the statement.
    return { client, insert: fileAvroInsert(client, `${directory.path}/it's a \\ dir`), close: async () => { await client.close(); directory.remove() } }
  })
})

describeWithService('clickhouse', 'CLICKHOUSE_URL', 'Avro inserts into a ClickHouse server (HTTP, FORMAT Avro body)', (url) => {
  rawTablesTakeAvro(async () => {
    const config = { clickhouse: { url, username: 'default', password: '', database: 'eddy' }, dataDir: '/nonexistent' }
    const client = await createClickHouseClient(config as Parameters<typeof createClickHouseClient>[0])
    return { client, insert: httpAvroInsert(client), close: () => client.close() }
  })
})
