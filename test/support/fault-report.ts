/**
 * The counts every fault test reports (issue 10): events sent, acknowledged, stored, duplicates,
 * lost. One helper, so every test counts the same way and prints one line a reader can compare:
 *
 *   <name>: {"sent":…,"acknowledged":…,"stored":…,"duplicates":…,"lost":…, …test-specific fields}
 *
 * - sent: events the clients sent, each counted once however many attempts its request took (a
 *   retry is the same event); messages a test sends twice on purpose count twice.
 * - acknowledged: distinct events (by their key, normally event_id) in requests answered 202.
 * - stored: acknowledged events that are in their raw table.
 * - duplicates: rows a reader still sees twice: rows through FINAL minus distinct keys. The raw
 *   tables are ReplacingMergeTrees keyed on event_id, so a replayed or retried event may sit in
 *   two parts until a merge folds them; count() without FINAL counts both, which is how the
 *   tables are meant to work, not a duplicate. FINAL folds rows with the same sort key, so what it
 *   still shows twice is a real double count (e.g. one event stored under two ids or two days).
 *   Those unmerged copies are reported beside it as `unmergedCopies` (raw count() without FINAL
 *   minus rows through FINAL): information, not a failure. FINAL rather than OPTIMIZE … FINAL,
 *   because a check should not rewrite the data it checks.
 * - lost: acknowledged events not stored. Must be 0.
 * - unacknowledged: stored events the test never saw acknowledged (refused or unanswered requests
 *   that were written anyway). Harmless where clients retry until acknowledged; a test that
 *   refuses events on purpose (disk full) asserts it is 0.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import { derivedEventId, eventIdFor } from '../../ingest/normalise/event-id.ts'

export interface FaultCounts {
  readonly sent: number
  readonly acknowledged: number
  readonly stored: number
  readonly duplicates: number
  readonly lost: number
  readonly unacknowledged: number
  readonly unmergedCopies: number
  /** A few lost keys, when any are, for the failure message. */
  readonly lostSample?: readonly string[]
  readonly [extra: string]: unknown
}

/** Where one stream's acknowledged events must be, and how an event is recognised there. */
export interface StoredStream {
  /** The raw table, qualified: `eddy.events_click`. */
  readonly table: string
  /** The rows of this test (its project, its service…), with `{name:Type}` parameters. */
  readonly where: string
  readonly params?: Record<string, unknown>
  /** What identifies an event, as a ClickHouse String expression (default: the event_id). */
  readonly key?: string
  /** The key of every acknowledged event (duplicates are counted once). */
  readonly acknowledged: Iterable<string>
}

export interface FaultReportOptions {
  readonly sent: number
  readonly streams: readonly StoredStream[]
  /** Test-specific figures printed after the counts (kills, retries, statuses…). */
  readonly extra?: Record<string, unknown>
  /** How long to wait for acknowledged events still on their way to ClickHouse (default 60 s). */
  readonly timeoutMs?: number
}

/**
 * Counts what was stored against what was acknowledged, waiting up to `timeoutMs` for events still
 * being written, prints `<name>: {…}` and returns the counts for the test to assert on.
 *
 * The acknowledged keys are loaded into a scratch table beside the raw table and compared there,
 * so a ten-minute soak's millions of events are counted by ClickHouse instead of held in the test's
 * heap (which the soak itself watches).
 */
export async function reportFaultCounts(clickhouse: ClickHouseClient, name: string, options: FaultReportOptions): Promise<FaultCounts> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  const streams: Stream[] = []
  try {
    for (const stream of options.streams) streams.push(await withAcknowledgedTable(clickhouse, { ...stream, key: stream.key ?? 'toString(event_id)' }))
    // Cheap first: distinct keys in scope, until there are as many as were acknowledged.
    for (const stream of streams) {
      while (Date.now() < deadline && (await distinctKeys(clickhouse, stream)) < stream.acknowledgedCount) await pause(250)
    }
    let counts = await compare(clickhouse, streams)
    while (counts.lost > 0 && Date.now() < deadline) {
      await pause(1_000)
      counts = await compare(clickhouse, streams)
    }
    const report: FaultCounts = {
      sent: options.sent,
      acknowledged: streams.reduce((sum, stream) => sum + stream.acknowledgedCount, 0),
      ...counts,
      ...options.extra,
    }
    console.log(`${name}: ${JSON.stringify(report)}`)
    return report
  } finally {
    for (const stream of streams) await clickhouse.command({ query: `DROP TABLE IF EXISTS ${stream.acknowledgedTable}` })
  }
}

type Stream = StoredStream & { readonly key: string; readonly acknowledgedTable: string; readonly acknowledgedCount: number }

let scratchTables = 0

/** Loads the stream's acknowledged keys, in batches, into a Memory table in the raw table's database. */
async function withAcknowledgedTable(clickhouse: ClickHouseClient, stream: StoredStream & { readonly key: string }): Promise<Stream> {
  const database = stream.table.includes('.') ? stream.table.slice(0, stream.table.indexOf('.')) : 'default'
  const table = `${database}.fault_acknowledged_${process.pid}_${Date.now()}_${++scratchTables}`
  await clickhouse.command({ query: `CREATE TABLE ${table} (key String) ENGINE = Memory` })
  let batch: string[][] = []
  const flush = async () => {
    if (batch.length > 0) await clickhouse.insert({ table, values: batch, format: 'JSONCompactEachRow' })
    batch = []
  }
  for (const key of stream.acknowledged) {
    batch.push([key])
    if (batch.length === 100_000) await flush()
  }
  await flush()
  const [row] = await rows<{ n: string }>(clickhouse, `SELECT uniqExact(key) AS n FROM ${table}`)
  return { ...stream, acknowledgedTable: table, acknowledgedCount: Number(row?.n ?? 0) }
}

async function distinctKeys(clickhouse: ClickHouseClient, stream: Stream): Promise<number> {
  const [row] = await rows<{ n: string }>(clickhouse, `SELECT uniqExact(${stream.key}) AS n FROM ${stream.table} FINAL WHERE ${stream.where}`, stream.params)
  return Number(row?.n ?? 0)
}

async function compare(clickhouse: ClickHouseClient, streams: readonly Stream[]) {
  const counts = { stored: 0, duplicates: 0, lost: 0, unacknowledged: 0, unmergedCopies: 0 }
  const lostSample: string[] = []
  for (const stream of streams) {
    const inScope = `SELECT ${stream.key} AS key FROM ${stream.table} FINAL WHERE ${stream.where}`
    const [final] = await rows<{ rows: string; keys: string; stored: string }>(clickhouse,
      `SELECT count() AS rows, uniqExact(key) AS keys, uniqExactIf(key, key IN (SELECT key FROM ${stream.acknowledgedTable})) AS stored FROM (${inScope})`, stream.params)
    const [raw] = await rows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${stream.table} WHERE ${stream.where}`, stream.params)
    const finalRows = Number(final?.rows ?? 0)
    const keys = Number(final?.keys ?? 0)
    const stored = Number(final?.stored ?? 0)
    counts.stored += stored
    counts.unacknowledged += keys - stored
    counts.duplicates += finalRows - keys
    counts.unmergedCopies += Number(raw?.n ?? 0) - finalRows
    const lost = stream.acknowledgedCount - stored
    counts.lost += lost
    if (lost > 0 && lostSample.length < 5) {
      const missing = await rows<{ key: string }>(clickhouse, `SELECT DISTINCT key FROM ${stream.acknowledgedTable} WHERE key NOT IN (${inScope}) LIMIT ${5 - lostSample.length}`, stream.params)
      lostSample.push(...missing.map((row) => `${stream.table}:${row.key}`))
    }
  }
  return lostSample.length > 0 ? { ...counts, lostSample } : counts
}

async function rows<T>(clickhouse: ClickHouseClient, query: string, params?: Record<string, unknown>): Promise<T[]> {
  return (await clickhouse.query({ query, query_params: params ?? {}, format: 'JSONEachRow' })).json<T>()
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The event_id ingest gives a payload as a client sends it (ingest/normalise): the Segment
 * messageId, a log line's `event_id` or `id`, a notification's `event_id` or else the id derived
 * from notification, status and time. Undefined for an event without an id (ingest draws a random
 * one; such a test needs its own key).
 */
export function eventIdOf(stream: 'click' | 'log' | 'notification', projectId: string, payload: Record<string, unknown>): string | undefined {
  const id = stream === 'click' ? payload.messageId : (payload.event_id ?? (stream === 'log' ? payload.id : undefined))
  if (id !== undefined) return eventIdFor(projectId, id)
  if (stream === 'notification' && typeof payload.notification_id === 'string' && typeof payload.status === 'string' && typeof payload.timestamp === 'string') {
    return derivedEventId(projectId, 'notification', payload.notification_id, payload.status, Date.parse(payload.timestamp))
  }
  return undefined
}

/** eventIdOf for every payload; throws on one without an id, which no count could find. */
export function eventIdsOf(stream: 'click' | 'log' | 'notification', projectId: string, payloads: Iterable<Record<string, unknown>>): string[] {
  const ids: string[] = []
  for (const payload of payloads) {
    const id = eventIdOf(stream, projectId, payload)
    if (id === undefined) throw new Error(`a ${stream} payload without an id cannot be counted: ${JSON.stringify(payload).slice(0, 200)}`)
    ids.push(id)
  }
  return ids
}
