import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { tableName, type ClickHouseClient } from '../../core/clickhouse/client.ts'
import { RAW_TABLE } from '../../core/clickhouse/raw-tables.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import { EXPORT_COLUMNS, EXPORT_FORMAT, type RawRow } from './export-format.ts'

export interface ExportOptions {
  readonly client: ClickHouseClient
  readonly database: string
  readonly stream: Stream
  /** From the write key, never from a parameter. */
  readonly projectId: string
  /** Event times [fromMs, toMs). */
  readonly fromMs: number
  readonly toMs: number
  readonly output: Writable
  /** Rows per query (default 20,000): what one page may hold in memory, chDB buffering a whole result. */
  readonly pageRows?: number
  readonly onProgress?: (rows: number) => void
}

const TIMES = new Set(['ts', 'received_at'])
const DAY_MS = 86_400_000

/** Where the previous page ended: the next one starts after this (ts, event_id). */
interface PageEnd {
  readonly ts: number
  readonly eventId: string
}

/**
 * One page of the export: FINAL, so a row stored twice (a replay before the merge) is written once;
 * in (ts, event_id) order, and after the previous page's last row when there was one (keyset
 * paging: no OFFSET, whose cost grows with every page).
 */
export function exportQuery(database: string, stream: Stream, after: boolean): string {
  const columns = EXPORT_COLUMNS[stream].map((column) => (TIMES.has(column) ? `toUnixTimestamp64Milli(${column}) AS ${column}` : column))
  return `SELECT ${columns.join(', ')} FROM ${tableName(database, RAW_TABLE[stream])} FINAL
WHERE project_id = {project:String}
  AND ts >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')${after
    ? "\n  AND (ts, event_id) > (fromUnixTimestamp64Milli({afterTs:Int64}, 'UTC'), toUUID({afterId:String}))"
    : ''}
ORDER BY ts, event_id
LIMIT {limit:UInt32}`
}

/**
 * Streams a range of one stream's raw events as NDJSON, in event-time order, a page of rows per
 * query: a ClickHouse server would stream one big result, but the embedded chDB returns a
 * query's whole result in memory, so a range of any size is read as pages of `pageRows`. Pages
 * walk one UTC day at a time: the tables' sort key starts (project, day), so a page reads only
 * its day's rows instead of everything after it to the end of the range. Each page goes out
 * before the next is asked for, waiting when the output is slow. Resolves with the rows written.
 */
export async function exportEvents(options: ExportOptions): Promise<number> {
  const pageRows = options.pageRows ?? 20_000
  const format = EXPORT_FORMAT[options.stream]
  let rows = 0
  for (let dayStart = options.fromMs; dayStart < options.toMs;) {
    const dayEnd = Math.min(options.toMs, (Math.floor(dayStart / DAY_MS) + 1) * DAY_MS)
    let after: PageEnd | undefined
    for (let full = true; full;) {
      const result = await options.client.query({
        query: exportQuery(options.database, options.stream, after !== undefined),
        query_params: { project: options.projectId, fromMs: dayStart, toMs: dayEnd, limit: pageRows, ...(after ? { afterTs: after.ts, afterId: after.eventId } : {}) },
        format: 'JSONEachRow',
        clickhouse_settings: {
          // Epoch milliseconds as JSON numbers, not the quoted strings ClickHouse gives 64-bit integers.
          output_format_json_quote_64bit_integers: 0,
          // `toUnixTimestamp64Milli(ts) AS ts` would otherwise make WHERE compare the alias (ms) with a time.
          prefer_column_name_to_alias: 1,
        },
      })
      let page = 0
      for await (const block of result.stream()) {
        let text = ''
        for (const entry of block) {
          const row = entry.json<RawRow>()
          text += `${JSON.stringify(format(row))}\n`
          after = { ts: row.ts, eventId: row.event_id }
        }
        page += block.length
        rows += block.length
        if (!options.output.write(text)) await once(options.output, 'drain')
        options.onProgress?.(rows)
      }
      full = page === pageRows
    }
    dayStart = dayEnd
  }
  return rows
}
