/**
 * The physical floor of the processors' raw-row path, measured in the same run on the same records:
 * each record Avro-decoded with avsc (the newest schema; the 5-byte wire header skipped), mapped to
 * its raw row, and stored with a bare client.insert in batches of the sink's size, one after another,
 * into a fresh database of the same chDB that is dropped afterwards. The insert sends the sink's own
 * format, JSONCompactEachRow: with JSONEachRow, which chDB parses markedly slower, the processors
 * (aggregates included) beat the "floor".
 */
import { performance } from 'node:perf_hooks'
import type { ClickHouseClient } from '@clickhouse/client'
import avro from 'avsc'
import type { Logger } from '../core/logging/logger.ts'
import { migrate } from '../core/clickhouse/migrate.ts'
import { HEADER_LENGTH } from '../core/codec/wire-format.ts'
import { latestSchemas, STREAMS, type Stream } from '../schemas/avro/catalog.ts'
import { RAW_ROW, RAW_TABLE } from '../processors/sinks/raw-rows.ts'

export interface RawRowFloor {
  readonly records: number
  readonly seconds: number
  readonly recordsPerSec: number
}

export async function rawRowFloor(
  client: ClickHouseClient,
  records: Readonly<Record<Stream, readonly Buffer[]>>,
  options: { database: string; batchRows: number; logger: Logger; onProgress?: (line: string) => void },
): Promise<RawRowFloor> {
  const { database, batchRows } = options
  await migrate(client, { database, retentionDays: 3650, logger: options.logger })
  const schemas = latestSchemas()
  const types = Object.fromEntries(STREAMS.map((stream) => [stream, avro.Type.forSchema(schemas[stream].schema)])) as Record<Stream, avro.Type>
  const total = STREAMS.reduce((sum, stream) => sum + records[stream].length, 0)
  try {
    let done = 0
    const started = performance.now()
    for (const stream of STREAMS) {
      const list = records[stream]
      const type = types[stream]
      const toRow = RAW_ROW[stream] as (event: unknown) => Record<string, unknown>
      for (let start = 0; start < list.length; start += batchRows) {
        const end = Math.min(list.length, start + batchRows)
        const values: unknown[][] = new Array(end - start)
        let columns: [string, ...string[]] | undefined
        for (let index = start; index < end; index++) {
          const row = toRow(type.fromBuffer(list[index]!.subarray(HEADER_LENGTH)))
          columns ??= Object.keys(row) as [string, ...string[]]
          values[index - start] = Object.values(row)
        }
        await client.insert({ table: `${database}.${RAW_TABLE[stream]}`, values, columns, format: 'JSONCompactEachRow' })
        done += values.length
        options.onProgress?.(`processors reference: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} records decoded and inserted`)
      }
    }
    const seconds = (performance.now() - started) / 1_000
    return { records: total, seconds: Math.round(seconds * 10) / 10, recordsPerSec: Math.round(total / seconds) }
  } finally {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` })
  }
}
