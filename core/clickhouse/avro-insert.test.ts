import avro from 'avsc'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { latestSchemas, STREAMS, type Stream } from '../../schemas/avro/catalog.ts'
import { RAW_ROW, RAW_TABLE } from '../../processors/sinks/raw-rows.ts'
import { describeWithService } from '../../test/support/services.ts'
import { modelEvents } from '../../test/support/model-events.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { avroContainer } from './avro-container.ts'
import { fileAvroInsert, httpAvroInsert, type AvroInsert } from './avro-insert.ts'
import { createClickHouseClient, type ClickHouseClient } from './client.ts'
import { migrate } from './migrate.ts'

/**
 * Raw events reach their tables as Avro datums. They must land exactly as the JSON rows RAW_ROW
 * builds did (nulls as '', timestamps, maps, UUIDs): both are inserted side by side and compared.
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

  it('refuses a container that is not Avro, and writes nothing', async () => {
    const { client, insert } = connection
    const table = `${viaAvro}.${RAW_TABLE.log}`
    const before = await client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' }).then((result) => result.json())
    await expect(insert(table, Buffer.from('not an object container'))).rejects.toThrow()
    expect(await client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' }).then((result) => result.json())).toEqual(before)
  })
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
