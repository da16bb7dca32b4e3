import type { ClickHouseClient } from '@clickhouse/client'
import { mapDifferences } from './aggregates.ts'

/**
 * Every aggregate as the api reads it, and the same recomputed by ClickHouse from the raw tables
 * (independently of the jobs' code), for tests that open a data dir's ClickHouse after a child
 * process wrote it. The queries are test/e2e/reprocess.test.ts's, over any client and project.
 */
export type Aggregates = Awaited<ReturnType<typeof storedAggregates>>

const DIMENSIONS = ['path', 'referrer_domain', 'utm_source', 'utm_campaign', 'browser', 'os', 'device_type', 'country']

function reader(clickhouse: ClickHouseClient, project: string) {
  return async <T>(query: string) => (await clickhouse.query({ query, query_params: { project }, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>()
}

const asMap = <T extends { k: string }>(list: T[], value: (row: T) => unknown) => new Map(list.map((row) => [row.k, value(row)]))

/** The stored aggregates of `project`, summed over partitions. */
export async function storedAggregates(clickhouse: ClickHouseClient, project: string) {
  const rows = reader(clickhouse, project)
  return {
    clicks1m: asMap(await rows<{ k: string; p: number; u: number }>(`SELECT concat(toString(toUnixTimestamp(window_start)), '|', dimension, '|', value) AS k, sum(pageviews) AS p, sum(visitors) AS u
      FROM eddy.clicks_1m FINAL WHERE project_id = {project:String} AND pageviews > 0 GROUP BY k`), (r) => [r.p, r.u]),
    sessions: asMap(await rows<{ k: string; e: number; p: number; n: number }>(`SELECT concat(anonymous_id, '|', toString(toUnixTimestamp64Milli(session_start))) AS k,
      toUnixTimestamp64Milli(session_end) AS e, pageviews AS p, events AS n FROM eddy.sessions FINAL WHERE project_id = {project:String}`), (r) => [r.e, r.p, r.n]),
    transitions: asMap(await rows<{ k: string; c: number }>(`SELECT concat(toString(toUnixTimestamp(window_start)), '|', from_path, '|', to_path) AS k, sum(transitions) AS c
      FROM eddy.page_transitions_1h FINAL WHERE project_id = {project:String} AND transitions > 0 GROUP BY k`), (r) => r.c),
    active: asMap(await rows<{ k: string; u: number; p: number }>(`SELECT toString(toUnixTimestamp(window_start)) AS k, sum(visitors) AS u, sum(pageviews) AS p
      FROM eddy.active_visitors_5m FINAL WHERE project_id = {project:String} AND (visitors > 0 OR pageviews > 0) GROUP BY k`), (r) => [r.u, r.p]),
    logs1m: asMap(await rows<{ k: string; n: number }>(`SELECT concat(toString(toUnixTimestamp(window_start)), '|', service, '|', level) AS k, sum(lines) AS n
      FROM eddy.logs_1m FINAL WHERE project_id = {project:String} AND lines > 0 GROUP BY k`), (r) => r.n),
    errorsPerHour: asMap(await rows<{ k: string; n: number }>(`SELECT concat(toString(toUnixTimestamp(window_start)), '|', service) AS k, sum(occurrences) AS n
      FROM eddy.error_fingerprints_1h FINAL WHERE project_id = {project:String} AND occurrences > 0 GROUP BY k`), (r) => r.n),
    notifications1m: asMap(await rows<{ k: string; n: number }>(`SELECT concat(toString(toUnixTimestamp(window_start)), '|', channel, '|', provider, '|', template, '|', status) AS k, sum(notifications) AS n
      FROM eddy.notifications_1m FINAL WHERE project_id = {project:String} AND notifications > 0 GROUP BY k`), (r) => r.n),
  }
}

/** The same aggregates recomputed from the raw tables (each event once, through FINAL). */
export async function aggregatesFromRaw(clickhouse: ClickHouseClient, project: string): Promise<Aggregates> {
  const rows = reader(clickhouse, project)
  const pairs = ["('total', '')", ...DIMENSIONS.map((d) => `('${d}', replaceAll(${d}, '\\t', ' '))`)].join(', ')
  const byVisitor = 'PARTITION BY anonymous_id ORDER BY ts, toString(event_id) ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW'
  return {
    clicks1m: asMap(await rows<{ k: string; p: number; u: number }>(`SELECT concat(toString(toUnixTimestamp(toStartOfMinute(ts))), '|', d.1, '|', d.2) AS k, count() AS p, uniqExact(anonymous_id) AS u
      FROM eddy.events_click FINAL ARRAY JOIN [${pairs}] AS d WHERE project_id = {project:String} AND type = 'pageview' GROUP BY k`), (r) => [r.p, r.u]),
    // A session: a visitor's events with less than the 30-minute gap between one and the next.
    sessions: asMap(await rows<{ k: string; e: number; p: number; n: number }>(`SELECT concat(anonymous_id, '|', toString(toUnixTimestamp64Milli(min(ts)))) AS k,
        toUnixTimestamp64Milli(max(ts)) AS e, countIf(type = 'pageview') AS p, count() AS n
      FROM (SELECT anonymous_id, ts, type, sum(starts) OVER (${byVisitor}) AS session FROM (
        SELECT anonymous_id, ts, type, event_id,
          row_number() OVER (${byVisitor}) = 1 OR dateDiff('millisecond', lagInFrame(ts) OVER (${byVisitor}), ts) >= 1800000 AS starts
        FROM eddy.events_click FINAL WHERE project_id = {project:String}))
      GROUP BY anonymous_id, session`), (r) => [r.e, r.p, r.n]),
    // A transition: one pageview to a visitor's next, at most the gap later, counted in the second's hour.
    transitions: asMap(await rows<{ k: string; c: number }>(`SELECT concat(toString(toUnixTimestamp(toStartOfHour(ts))), '|', previous, '|', path) AS k, count() AS c
      FROM (SELECT ts, path, lagInFrame(path) OVER (${byVisitor}) AS previous, lagInFrame(ts) OVER (${byVisitor}) AS previous_ts, row_number() OVER (${byVisitor}) AS n
        FROM eddy.events_click FINAL WHERE project_id = {project:String} AND type = 'pageview')
      WHERE n > 1 AND dateDiff('millisecond', previous_ts, ts) <= 1800000 GROUP BY k`), (r) => r.c),
    // Five-minute windows starting every minute: each event is in the five that start in the minutes up to its own.
    active: asMap(await rows<{ k: string; u: number; p: number }>(`SELECT toString(start) AS k, uniqExact(anonymous_id) AS u, countIf(type = 'pageview') AS p
      FROM (SELECT anonymous_id, type, arrayJoin(arrayMap(back -> toUnixTimestamp(toStartOfMinute(ts)) - back * 60, range(5))) AS start
        FROM eddy.events_click FINAL WHERE project_id = {project:String}) GROUP BY k`), (r) => [r.u, r.p]),
    logs1m: asMap(await rows<{ k: string; n: number }>(`SELECT concat(toString(toUnixTimestamp(toStartOfMinute(ts))), '|', service, '|', level) AS k, count() AS n
      FROM eddy.events_log FINAL WHERE project_id = {project:String} GROUP BY k`), (r) => r.n),
    errorsPerHour: asMap(await rows<{ k: string; n: number }>(`SELECT concat(toString(toUnixTimestamp(toStartOfHour(ts))), '|', service) AS k, count() AS n
      FROM eddy.events_log FINAL WHERE project_id = {project:String} AND level IN ('error', 'fatal') GROUP BY k`), (r) => r.n),
    notifications1m: asMap(await rows<{ k: string; n: number }>(`SELECT concat(toString(toUnixTimestamp(toStartOfMinute(ts))), '|', channel, '|', provider, '|', template, '|', status) AS k, count() AS n
      FROM eddy.events_notification FINAL WHERE project_id = {project:String} GROUP BY k`), (r) => r.n),
  }
}

/** Per aggregate, the keys whose values differ (a readable few); {} when every aggregate agrees. */
export function aggregateDifferences(expected: Aggregates, actual: Aggregates, limit = 10): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const name of Object.keys(expected) as (keyof Aggregates)[]) {
    const found = mapDifferences(expected[name], actual[name], limit)
    if (found.length > 0) out[name] = found
  }
  return out
}
