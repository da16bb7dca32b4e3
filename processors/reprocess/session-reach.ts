import type { ClickHouseClient } from '@clickhouse/client'
import { tableName } from '../../core/clickhouse/client.ts'
import type { LateRange } from './convergence.ts'

export interface SessionReachOptions {
  readonly sessionGapMs: number
  /** How far back a session is followed at most: the reprocess's own bound on a session's length. */
  readonly boundMs: number
  readonly alignMs: number
}

/**
 * Where a convergence run over clicks must start so that a late event also rewrites the stored
 * session it joins when that session began before the range: a visitor active across the
 * range's start for longer than the gap. The reprocess writes a session only from the slice its
 * start is in, so without this such a session would keep the live job's counts for good. Only
 * the late events' visitors are looked at when the range names them; otherwise any visitor.
 */
export async function sessionReachBack(clickhouse: ClickHouseClient, database: string, range: LateRange, options: SessionReachOptions): Promise<number> {
  const visitors = range.keys === undefined ? '' : ' AND anonymous_id IN {visitors:Array(String)}'
  const result = await clickhouse.query({
    query: `SELECT toUnixTimestamp64Milli(min(session_start)) AS start, count() AS sessions FROM ${tableName(database, 'sessions')} FINAL
      WHERE session_start < fromUnixTimestamp64Milli({from:Int64}) AND session_start >= fromUnixTimestamp64Milli({bound:Int64})
        AND session_end >= fromUnixTimestamp64Milli({reached:Int64}) AND is_deleted = 0${visitors}`,
    query_params: { from: range.fromMs, bound: range.fromMs - options.boundMs, reached: range.earliestMs - options.sessionGapMs, ...(range.keys === undefined ? {} : { visitors: [...range.keys] }) },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  })
  const [row] = await result.json<{ start: number; sessions: number }>()
  if (row === undefined || Number(row.sessions) === 0) return range.fromMs
  return Math.min(range.fromMs, Math.floor(Number(row.start) / options.alignMs) * options.alignMs)
}
