import type { ClickHouseClient } from '../../clickhouse/client.ts'
import { tableName } from '../../clickhouse/client.ts'
import { RAW_TABLE } from '../../clickhouse/raw-tables.ts'
import { HIT_FIELDS, type SearchEvent } from '../fields.ts'
import type { SearchStream } from '../port.ts'

/** What a reindex covers: one stream, an event-time range (from inclusive, to exclusive), some projects. */
export interface ReindexRange {
  readonly stream: SearchStream
  readonly fromMs: number
  readonly toMs: number
  /** From keys, never from a parameter. */
  readonly projectIds: readonly string[]
}

/**
 * Where a read stopped: the last event, by its place in the reading order. The project is part of
 * it because an event id is unique within a project only (a client's own UUIDs are kept, and a
 * client may send the same ones to two projects): by (ts, event id) alone, two such events would
 * tie, and a page ending between them would skip the second.
 */
export interface ReadPosition {
  readonly ts: number
  readonly eventId: string
  readonly projectId: string
}

export const positionOf = (event: { readonly ts: number; readonly event_id: string; readonly project_id: string }): ReadPosition =>
  ({ ts: event.ts, eventId: event.event_id, projectId: event.project_id })

/**
 * The raw events of a range in (ts, event id as text, project) order, so a position is a resume
 * point. `after` excludes everything up to and including that event.
 */
export interface RawEventSource {
  count(range: ReindexRange, after?: ReadPosition): Promise<number>
  read<S extends SearchStream>(range: ReindexRange & { readonly stream: S }, after: ReadPosition | undefined, limit: number): AsyncIterable<SearchEvent<S>>
}

interface RawRow {
  readonly id: string
  readonly ts_ms: string | number
  readonly received_ms: string | number
  readonly project_id: string
  readonly attributes: Record<string, string>
  readonly [column: string]: unknown
}

/**
 * ClickHouse's raw tables as a RawEventSource. Each call is one parameterised query whose rows
 * arrive through the client's JSONEachRow stream; the caller pages with `after` and a limit, so
 * neither a server nor chDB (which buffers a whole result) ever holds more than a page. FINAL
 * because a replayed event can sit twice in a part not merged yet.
 */
export class ClickHouseRawEvents implements RawEventSource {
  constructor(private readonly client: ClickHouseClient, private readonly database: string) {}

  async count(range: ReindexRange, after?: ReadPosition): Promise<number> {
    const { where, params } = this.filter(range, after)
    const result = await this.client.query({
      query: `SELECT count() AS total FROM ${this.table(range.stream)} FINAL WHERE ${where}`,
      query_params: params,
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{ total: string | number }>()
    return Number(row?.total ?? 0)
  }

  async *read<S extends SearchStream>(range: ReindexRange & { readonly stream: S }, after: ReadPosition | undefined, limit: number): AsyncIterable<SearchEvent<S>> {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new Error(`a page limit must be a positive whole number, got ${limit}`)
    const { where, params } = this.filter(range, after)
    // Aliases differ from the columns: ClickHouse lets WHERE and ORDER BY see aliases.
    const result = await this.client.query({
      query: `SELECT toString(event_id) AS id, project_id, toUnixTimestamp64Milli(ts) AS ts_ms,
          toUnixTimestamp64Milli(received_at) AS received_ms, ${HIT_FIELDS[range.stream].join(', ')}, attributes
        FROM ${this.table(range.stream)} FINAL WHERE ${where}
        ORDER BY ts, toString(event_id), project_id LIMIT ${limit}`,
      query_params: params,
      format: 'JSONEachRow',
    })
    for await (const rows of result.stream<RawRow>()) {
      for (const row of rows) yield eventFromRow(range.stream, row.json())
    }
  }

  private table(stream: SearchStream): string {
    return tableName(this.database, RAW_TABLE[stream])
  }

  private filter(range: ReindexRange, after?: ReadPosition): { where: string; params: Record<string, unknown> } {
    const conditions = [
      'project_id IN {projects:Array(String)}',
      "ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')",
      "ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')",
    ]
    const params: Record<string, unknown> = { projects: range.projectIds, from: range.fromMs, to: range.toMs }
    if (after) {
      conditions.push("(ts, toString(event_id), project_id) > (fromUnixTimestamp64Milli({after_ts:Int64}, 'UTC'), {after_id:String}, {after_project:String})")
      params.after_ts = after.ts
      params.after_id = after.eventId
      params.after_project = after.projectId
    }
    return { where: conditions.join(' AND '), params }
  }
}

/**
 * A raw row as the decoded event live indexing got, so both go through the one document mapping
 * (`searchDocument`). Nullable event fields are '' in ClickHouse (processors/sinks/raw-rows.ts);
 * the document maps null to '' too, so either gives the same document.
 */
export function eventFromRow<S extends SearchStream>(stream: S, row: RawRow): SearchEvent<S> {
  const event: Record<string, unknown> = {
    event_id: row.id,
    project_id: row.project_id,
    ts: Number(row.ts_ms),
    received_at: Number(row.received_ms),
  }
  for (const field of HIT_FIELDS[stream]) event[field] = row[field]
  event.attributes = row.attributes
  return event as unknown as SearchEvent<S>
}
