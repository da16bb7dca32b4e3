import type { ClickHouseClient } from '@clickhouse/client'

/** What the pipeline stored, in the shapes clickstreamOracle returns, summed over partitions. */
export async function storedClickstream(clickhouse: ClickHouseClient, database: string, project: string) {
  const rows = async <T>(query: string) => (await clickhouse.query({ query, query_params: { project }, format: 'JSONEachRow' })).json<T>()
  const clicks1m = new Map((await rows<{ w: number; d: string; v: string; p: string; u: string }>(
    `SELECT toUnixTimestamp(window_start) AS w, dimension AS d, value AS v, sum(pageviews) AS p, sum(visitors) AS u
     FROM ${database}.clicks_1m FINAL WHERE project_id = {project:String} AND dimension IN ('total','path','referrer_domain','utm_source','utm_campaign','country')
     GROUP BY w, d, v`,
  )).map((r) => [`${r.w}|${r.d}|${r.v}`, { pageviews: Number(r.p), visitors: Number(r.u) }]))
  const sessions = new Map((await rows<{ a: string; s: string; e: string; p: number; n: number; en: string; ex: string; b: number }>(
    `SELECT anonymous_id AS a, toUnixTimestamp64Milli(session_start) AS s, toUnixTimestamp64Milli(session_end) AS e, pageviews AS p, events AS n,
            entry_path AS en, exit_path AS ex, bounced AS b
     FROM ${database}.sessions FINAL WHERE project_id = {project:String}`,
  )).map((r) => [`${r.a}|${Number(r.s)}`, { end: Number(r.e), pageviews: Number(r.p), events: Number(r.n), entry: r.en, exit: r.ex, bounced: Number(r.b) }]))
  const transitions = new Map((await rows<{ w: number; f: string; t: string; c: string }>(
    `SELECT toUnixTimestamp(window_start) AS w, from_path AS f, to_path AS t, sum(transitions) AS c
     FROM ${database}.page_transitions_1h FINAL WHERE project_id = {project:String} GROUP BY w, f, t`,
  )).map((r) => [`${r.w}|${r.f}|${r.t}`, Number(r.c)]))
  return { clicks1m, sessions, transitions }
}

export type StoredClickstream = Awaited<ReturnType<typeof storedClickstream>>

/**
 * Whether every clickstream aggregate is stored as the oracle has it. Wait on all three, not on
 * the sessions alone: the flush closes the sessions, but the last hour's transitions stay open (no
 * transition moves their watermark) and reach the table by an early firing, up to a tick later.
 */
export function matchesClickstream(oracle: Pick<StoredClickstream, 'clicks1m' | 'sessions' | 'transitions'>, stored: StoredClickstream): boolean {
  return mapDifferences(oracle.clicks1m, stored.clicks1m).length === 0
    && mapDifferences(oracle.sessions, stored.sessions).length === 0
    && mapDifferences(oracle.transitions, stored.transitions).length === 0
}

/** Differences between two maps, for a readable assertion message (at most `limit`). */
export function mapDifferences<V>(expected: ReadonlyMap<string, V>, actual: ReadonlyMap<string, V>, limit = 10): string[] {
  const differences: string[] = []
  for (const [key, value] of expected) {
    if (JSON.stringify(actual.get(key)) !== JSON.stringify(value)) differences.push(`${key}: expected ${JSON.stringify(value)}, got ${JSON.stringify(actual.get(key))}`)
  }
  for (const key of actual.keys()) if (!expected.has(key)) differences.push(`${key}: unexpected ${JSON.stringify(actual.get(key))}`)
  return differences.slice(0, limit).concat(differences.length > limit ? [`… ${differences.length - limit} more`] : [])
}

/** logs_1m and notifications_1m as `${minute}|${key}` → count, summed over partitions. */
export async function storedPerMinute(clickhouse: ClickHouseClient, database: string, project: string, stream: 'log' | 'notification'): Promise<Map<string, number>> {
  const query = stream === 'log'
    ? `SELECT toUnixTimestamp(window_start) AS w, concat(service, '|', level) AS k, sum(lines) AS n
       FROM ${database}.logs_1m FINAL WHERE project_id = {project:String} GROUP BY w, k`
    : `SELECT toUnixTimestamp(window_start) AS w, concat(channel, '|', provider, '|', template, '|', status) AS k, sum(notifications) AS n
       FROM ${database}.notifications_1m FINAL WHERE project_id = {project:String} GROUP BY w, k`
  const rows = await (await clickhouse.query({ query, query_params: { project }, format: 'JSONEachRow' })).json<{ w: number; k: string; n: string }>()
  return new Map(rows.map((r) => [`${r.w}|${r.k}`, Number(r.n)]))
}
