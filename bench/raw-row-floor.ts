/**
 * The physical floor of the processors' raw-row path, measured in the same run on the same records:
 * each record Avro-decoded with avsc (the newest schema; the 5-byte wire header skipped), as the
 * processors must for their jobs, and its body stored as the sink stores raw events: Avro datums in
 * one object container per batch of the sink's size, inserted one after another into a fresh
 * database of the same chDB (through the same staged-file insert), dropped afterwards.
 */
import { performance } from 'node:perf_hooks'
import type { ClickHouseClient } from '@clickhouse/client'
import avro from 'avsc'
import type { Logger } from '../core/logging/logger.ts'
import { avroContainer } from '../core/clickhouse/avro-container.ts'
import type { AvroInsert } from '../core/clickhouse/avro-insert.ts'
import { migrate } from '../core/clickhouse/migrate.ts'
import { HEADER_LENGTH } from '../core/codec/wire-format.ts'
import { latestSchemas, STREAMS, type Stream } from '../schemas/avro/catalog.ts'
import { RAW_TABLE } from '../core/clickhouse/raw-tables.ts'

export interface RawRowFloor {
  readonly records: number
  readonly seconds: number
  readonly recordsPerSec: number
}

export async function rawRowFloor(
  client: ClickHouseClient,
  records: Readonly<Record<Stream, readonly Buffer[]>>,
  options: { database: string; batchRows: number; insertAvro: AvroInsert; logger: Logger; onProgress?: (line: string) => void },
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
      const schema = type.schema({ exportAttrs: true })
      for (let start = 0; start < list.length; start += batchRows) {
        const end = Math.min(list.length, start + batchRows)
        const datums: Buffer[] = new Array(end - start)
        for (let index = start; index < end; index++) {
          const body = list[index]!.subarray(HEADER_LENGTH)
          type.fromBuffer(body)
          datums[index - start] = body
        }
        await options.insertAvro(`${database}.${RAW_TABLE[stream]}`, avroContainer(schema, datums))
        done += datums.length
        options.onProgress?.(`processors reference: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} records decoded and inserted`)
      }
    }
    const seconds = (performance.now() - started) / 1_000
    return { records: total, seconds: Math.round(seconds * 10) / 10, recordsPerSec: Math.round(total / seconds) }
  } finally {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` })
  }
}
