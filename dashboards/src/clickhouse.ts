import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog'
import { CLICKHOUSE_REF } from './datasources.ts'

/**
 * A query of the official ClickHouse datasource plugin (grafana-clickhouse-datasource, v4) in SQL
 * editor mode. The foundation SDK ships no builder for this plugin, so this is its query model as
 * the plugin saves it: `rawSql` with the plugin's macros, `format` (the sqlutil format: 0 time
 * series, 1 table, 2 logs) and `queryType` (what the editor shows).
 */
export const FORMAT = { timeseries: 0, table: 1, logs: 2 } as const
export type ClickHouseFormat = keyof typeof FORMAT

export interface ClickHouseQuery extends Dataquery {
  refId: string
  datasource: { type: string; uid: string }
  editorType: 'sql'
  format: (typeof FORMAT)[ClickHouseFormat]
  queryType: ClickHouseFormat
  rawSql: string
}

export class ClickHouseQueryBuilder implements Builder<Dataquery> {
  private readonly internal: ClickHouseQuery

  constructor(rawSql: string, format: ClickHouseFormat, refId = 'A') {
    this.internal = {
      refId,
      datasource: { ...CLICKHOUSE_REF },
      editorType: 'sql',
      format: FORMAT[format],
      queryType: format,
      rawSql: dedent(rawSql),
      _implementsDataqueryVariant() {},
    }
  }

  build(): ClickHouseQuery {
    return this.internal
  }
}

/** SQL written indented inside template literals, stored flush-left so it reads well in Grafana. */
export function dedent(sql: string): string {
  const lines = sql.replace(/^\n+|\s+$/g, '').split('\n')
  const indent = Math.min(...lines.filter((line) => line.trim() !== '').map((line) => line.match(/^ */)![0].length))
  return lines.map((line) => line.slice(indent)).join('\n')
}

/** `FROM <database>.<table> FINAL`: aggregates and raw rows are ReplacingMergeTree, read with FINAL. */
export const from = (table: string) => `FROM \${database}.${table} FINAL`

/** The project condition every query carries (a convenience filter, not tenancy: see docs/dashboards.md). */
export const PROJECT = 'project_id = ${project:singlequote}'
