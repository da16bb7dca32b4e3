import { HIT_FIELDS } from '../fields.ts'
import { page } from '../page.ts'
import type { ContextRequest, ContextResult, SearchHit, SearchPage, SearchRequest, SearchStore, SearchStream } from '../port.ts'
import { CONTEXT_SPAN_MS, TOTAL_LIMIT } from '../port.ts'
import { SEARCH_SCHEMAS, toClickHouseCondition } from '../query/index.ts'

/** Runs one parameterised query (the api's runner: limits, and failures as problems). */
export type RunQuery = <Row>(query: { readonly query: string; readonly params: Record<string, unknown> }) => Promise<Row[]>

const TABLE: Record<SearchStream, string> = { log: 'events_log', notification: 'events_notification' }

interface Row {
  readonly id: string
  readonly ts_ms: number | string
  readonly attributes: Record<string, string>
  readonly [field: string]: unknown
}

/**
 * Search on ClickHouse's raw tables: the embedded mode's search, and everyone's without
 * ELASTICSEARCH_URL. Same hits, same order as Elasticsearch: (ts, event id as text). FINAL because
 * a replayed event can sit twice in a part not merged yet; skip indexes stay on under it, since the
 * copies of one event are identical. Free text is pruned by the token bloom filter on the text
 * column (migration 0004).
 */
export class ClickHouseSearchStore implements SearchStore {
  readonly backend = 'clickhouse' as const

  constructor(private readonly run: RunQuery, private readonly database: string) {}

  async search(request: SearchRequest): Promise<SearchPage> {
    const { sql: condition, params: queryParams } = toClickHouseCondition(request.query, SEARCH_SCHEMAS[request.stream], 'q')
    const params: Record<string, unknown> = { ...queryParams, project: request.projectId, from: request.fromMs, to: request.toMs }
    const where = [
      'project_id = {project:String}',
      "ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')",
      "ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')",
      `(${condition})`,
    ]
    const paged = [...where]
    if (request.after) {
      params.after_ts = request.after.ts
      params.after_id = request.after.eventId
      const comparison = request.order === 'desc' ? '<' : '>'
      paged.push(`(ts, toString(event_id)) ${comparison} (fromUnixTimestamp64Milli({after_ts:Int64}, 'UTC'), {after_id:String})`)
    }
    const table = `${this.database}.${TABLE[request.stream]}`
    const direction = request.order === 'desc' ? 'DESC' : 'ASC'
    const [rows, counted] = await Promise.all([
      this.run<Row>({
        query: `${select(request.stream)} FROM ${table} FINAL WHERE ${paged.join(' AND ')}
          ORDER BY ts ${direction}, toString(event_id) ${direction} LIMIT ${request.size + 1} ${SETTINGS}`,
        params,
      }),
      this.run<{ total: number | string }>({
        query: `SELECT count() AS total FROM (SELECT 1 FROM ${table} FINAL WHERE ${where.join(' AND ')} LIMIT ${TOTAL_LIMIT + 1}) ${SETTINGS}`,
        params,
      }),
    ])
    const total = Number(counted[0]?.total ?? 0)
    return page(rows.map((row) => toHit(request.stream, row)), request.size, total > TOTAL_LIMIT ? { value: TOTAL_LIMIT, relation: 'gte' } : { value: total, relation: 'eq' })
  }

  async context(request: ContextRequest): Promise<ContextResult | undefined> {
    const table = `${this.database}.${TABLE.log}`
    const anchorRows = await this.run<Row>({
      query: `${select('log')} FROM ${table} FINAL WHERE project_id = {project:String}
        AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
        AND event_id = toUUIDOrNull({id:String}) LIMIT 1 ${SETTINGS}`,
      params: { project: request.projectId, from: request.fromMs, to: request.toMs, id: request.eventId },
    })
    if (anchorRows.length === 0) return undefined
    const anchor = toHit('log', anchorRows[0]!)
    const near = async (order: 'asc' | 'desc', size: number) => {
      if (size === 0) return []
      const comparison = order === 'desc' ? '<' : '>'
      const direction = order === 'desc' ? 'DESC' : 'ASC'
      const rows = await this.run<Row>({
        query: `${select('log')} FROM ${table} FINAL WHERE project_id = {project:String}
          AND service = {service:String} AND host = {host:String}
          AND ts >= fromUnixTimestamp64Milli({low:Int64}, 'UTC') AND ts <= fromUnixTimestamp64Milli({high:Int64}, 'UTC')
          AND (ts, toString(event_id)) ${comparison} (fromUnixTimestamp64Milli({ts:Int64}, 'UTC'), {id:String})
          ORDER BY ts ${direction}, toString(event_id) ${direction} LIMIT ${size} ${SETTINGS}`,
        params: { project: request.projectId, service: anchor.fields.service, host: anchor.fields.host, ts: anchor.ts, id: anchor.eventId, low: anchor.ts - CONTEXT_SPAN_MS, high: anchor.ts + CONTEXT_SPAN_MS },
      })
      return rows.map((row) => toHit('log', row))
    }
    const [before, after] = await Promise.all([near('desc', request.before), near('asc', request.after)])
    return { anchor, before: before.reverse(), after }
  }
}

const SETTINGS = 'SETTINGS use_skip_indexes_if_final = 1'

function select(stream: SearchStream): string {
  // Aliases must not shadow columns: ClickHouse lets WHERE and ORDER BY see them.
  return `SELECT toString(event_id) AS id, toUnixTimestamp64Milli(ts) AS ts_ms, ${HIT_FIELDS[stream].map((field) => `toString(${field}) AS ${field}`).join(', ')}, attributes`
}

function toHit(stream: SearchStream, row: Row): SearchHit {
  const fields: Record<string, string> = {}
  for (const field of HIT_FIELDS[stream]) fields[field] = String(row[field] ?? '')
  return { eventId: row.id, ts: Number(row.ts_ms), fields, attributes: row.attributes }
}
