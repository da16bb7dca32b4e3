import type { ClickHouseClient } from '@clickhouse/client'
import { PARTITION_KEY_COLUMN } from '../../core/bus/partition-key.ts'
import { tableName } from '../../core/clickhouse/client.ts'
import { RAW_TABLE } from '../../core/clickhouse/raw-tables.ts'
import { latestSchemas, type Stream } from '../../schemas/avro/catalog.ts'
import type { Row } from '../job.ts'
import type { Slice } from './plan.ts'
import type { ReprocessTable } from './tables.ts'

/** Where a reprocess reads: the raw events the live pipeline stored, and the rows it wrote. */
export interface ReprocessSource {
  /** Raw events with times in [fromMs, toMs): the total a progress line counts towards. */
  countEvents(stream: Stream, fromMs: number, toMs: number, projectId?: string): Promise<number>
  /** A slice's events in event-time order (ties by event id), only `fields` of each. */
  readEvents(stream: Stream, slice: Slice, fields: readonly string[], projectId?: string): AsyncIterable<Row>
  /** The newest event time stored per input partition, among events from `sinceMs` on. */
  newestEventTimes(stream: Stream, partitions: number, sinceMs: number): Promise<Map<number, number>>
  /** The rows of `table` the slice may replace or cancel: their key and `extra` columns. */
  existingRows(table: ReprocessTable, slice: Slice, projectId?: string): Promise<Row[]>
}

/**
 * Rows come back as JSON with 64-bit integers as numbers (all ours are below 2^53), not strings.
 * Columns are read back under their own names (`toUnixTimestamp64Milli(ts) AS ts`), so a column
 * name in WHERE must mean the column, not the alias: without the setting the time filters would
 * compare milliseconds with times and match nothing.
 */
const SETTINGS = { output_format_json_quote_64bit_integers: 0, prefer_column_name_to_alias: 1 } as const

export function clickHouseReprocessSource(client: ClickHouseClient, database: string): ReprocessSource {
  const raw = (stream: Stream) => tableName(database, RAW_TABLE[stream])
  const projectFilter = (projectId?: string) => (projectId === undefined ? '' : ' AND project_id = {project:String}')
  const params = (extra: Record<string, unknown>, projectId?: string) => (projectId === undefined ? extra : { ...extra, project: projectId })
  const nullable = nullableFields()

  return {
    async countEvents(stream, fromMs, toMs, projectId) {
      const result = await client.query({
        query: `SELECT count() AS events FROM ${raw(stream)} WHERE ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})${projectFilter(projectId)}`,
        query_params: params({ from: fromMs, to: toMs }, projectId),
        format: 'JSONEachRow',
        clickhouse_settings: SETTINGS,
      })
      const [row] = await result.json<{ events: number }>()
      return Number(row?.events ?? 0)
    },

    async *readEvents(stream, slice, fields, projectId) {
      const key = PARTITION_KEY_COLUMN[stream]
      const columns = fields.map((field) => (field === 'ts' ? 'toUnixTimestamp64Milli(ts) AS ts' : field === 'event_id' ? 'toString(event_id) AS event_id' : field)).join(', ')
      const inRange = 'ts >= fromUnixTimestamp64Milli({readFrom:Int64}) AND ts < fromUnixTimestamp64Milli({readTo:Int64})'
      // Past the slice's reads, only the keys it has events of: what can still extend its rows.
      const followed = slice.followToMs > slice.readToMs
        ? ` OR (ts >= fromUnixTimestamp64Milli({readTo:Int64}) AND ts < fromUnixTimestamp64Milli({followTo:Int64}) AND ${key} IN (` +
          `SELECT ${key} FROM ${raw(stream)} WHERE ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})${projectFilter(projectId)}))`
        : ''
      const result = await client.query({
        query: `SELECT ${columns} FROM ${raw(stream)} WHERE ((${inRange})${followed})${projectFilter(projectId)} ORDER BY ts, event_id`,
        query_params: params({ readFrom: slice.readFromMs, readTo: slice.readToMs, followTo: slice.followToMs, from: slice.fromMs, to: slice.toMs }, projectId),
        format: 'JSONEachRow',
        clickhouse_settings: SETTINGS,
      })
      const empty = nullable[stream]
      for await (const rows of result.stream<Row>()) {
        for (const each of rows) {
          const event = each.json()
          // Raw columns are not Nullable: an absent optional field was stored as ''.
          for (const field of empty) if (event[field] === '') event[field] = null
          yield event
        }
      }
    },

    async newestEventTimes(stream, partitions, sinceMs) {
      const result = await client.query({
        query: `SELECT kafkaMurmurHash(${PARTITION_KEY_COLUMN[stream]}) % {partitions:UInt32} AS partition, toUnixTimestamp64Milli(max(ts)) AS newest
          FROM ${raw(stream)} WHERE ts >= fromUnixTimestamp64Milli({since:Int64}) GROUP BY partition`,
        query_params: { partitions, since: sinceMs },
        format: 'JSONEachRow',
        clickhouse_settings: SETTINGS,
      })
      return new Map((await result.json<{ partition: number; newest: number }>()).map((row) => [Number(row.partition), Number(row.newest)]))
    },

    async existingRows(table, slice, projectId) {
      const columns = [...table.key, ...(table.extra ?? [])]
      const start = table.cancels === 'covered-sessions' ? 'session_start' : 'window_start'
      // Sessions a slice writes may cover live sessions that start up to where its reads end.
      const to = table.cancels === 'covered-sessions' ? slice.followToMs : slice.toMs
      const result = await client.query({
        query: `SELECT ${columns.map((column) => `${column.read} AS ${column.name}`).join(', ')} FROM ${tableName(database, table.table)} FINAL
          WHERE ${start} >= fromUnixTimestamp64Milli({from:Int64}) AND ${start} < fromUnixTimestamp64Milli({to:Int64})${projectFilter(projectId)}`,
        query_params: params({ from: slice.fromMs, to }, projectId),
        format: 'JSONEachRow',
        clickhouse_settings: SETTINGS,
      })
      return result.json<Row>()
    },
  }
}

/** Per stream, the fields that are optional (a union with null) in its newest schema. */
function nullableFields(): Record<Stream, string[]> {
  const schemas = latestSchemas()
  const fieldsOf = (stream: Stream) => {
    const schema = schemas[stream].schema as { fields: Array<{ name: string; type: unknown }> }
    return schema.fields.filter((field) => Array.isArray(field.type) && field.type.includes('null')).map((field) => field.name)
  }
  return { click: fieldsOf('click'), log: fieldsOf('log'), notification: fieldsOf('notification') }
}
