import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog'
import {
  BarGaugeDisplayMode, BigValueColorMode, BigValueGraphMode, GraphDrawStyle, LegendDisplayMode, LegendPlacement, LogsSortOrder,
  ReduceDataOptionsBuilder, StackingConfigBuilder, StackingMode, TooltipDisplayMode, VizLegendOptionsBuilder, VizOrientation,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common'
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge'
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs'
import { PieChartLegendOptionsBuilder, PieChartLegendValues, PanelBuilder as PieChartPanel, PieChartType } from '@grafana/grafana-foundation-sdk/piechart'
import { DataqueryBuilder as PrometheusQuery } from '@grafana/grafana-foundation-sdk/prometheus'
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat'
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table'
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries'
import { ClickHouseQueryBuilder } from './clickhouse.ts'
import { CLICKHOUSE_REF, ELASTICSEARCH_REF, PROMETHEUS_REF } from './datasources.ts'

/**
 * Panel factories shared by the dashboards. Each takes a title, the query and a size, and returns
 * an SDK builder; layout is the dashboard builder's (left to right, wrapping at 24 columns), so a
 * row's widths add up to 24.
 *
 * How each kind binds to its query's columns (dashboards.test.ts checks it against ClickHouse):
 * - time series: first column `time` (a DateTime), then numbers; string columns split series
 *   (the plugin turns long rows into wide frames);
 * - stat: numbers only;
 * - table: the columns named in its `organize` transformation, which orders and renames them;
 * - pie chart and bar gauge: a label column and numbers;
 * - logs: a time column and `body`.
 *
 * Elasticsearch panels (query builders in elasticsearch.ts) bind to what Grafana makes of the hits
 * and buckets: series per term, log lines from the datasource's message and level fields, and for
 * tables one column per _source field, of which `filterFieldsByName` keeps the ones named.
 */

export interface Size {
  readonly w: number
  readonly h: number
}
const at = (size: Size) => ({ x: 0, y: 0, w: size.w, h: size.h })

interface Common {
  readonly title: string
  readonly description: string
  readonly size: Size
  readonly unit?: string
}

/** One ClickHouse query, or several (refIds A, B, …) drawn together. */
export type Sql = string | readonly string[]
const clickhouseTargets = (sql: Sql, format: 'timeseries' | 'table' | 'logs'): Builder<Dataquery>[] =>
  (typeof sql === 'string' ? [sql] : sql).map((text, index) => new ClickHouseQueryBuilder(text, format, String.fromCharCode(65 + index)))

function timeseries(options: Common & { stacked?: boolean; bars?: boolean }) {
  const panel = new TimeseriesPanel()
    .title(options.title)
    .description(options.description)
    .gridPos(at(options.size))
    .unit(options.unit ?? 'short')
    .min(0)
    .fillOpacity(options.stacked ? 60 : 10)
    .lineWidth(options.bars ? 0 : 1)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]))
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi))
  if (options.bars) panel.drawStyle(GraphDrawStyle.Bars)
  if (options.stacked) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
  return panel
}

export function clickhouseTimeseries(options: Common & { sql: Sql; stacked?: boolean; bars?: boolean }) {
  const panel = timeseries(options).datasource(CLICKHOUSE_REF)
  for (const target of clickhouseTargets(options.sql, 'timeseries')) panel.withTarget(target)
  return panel
}

export function clickhouseStat(options: Common & { sql: string; decimals?: number }) {
  const panel = new StatPanel()
    .title(options.title)
    .description(options.description)
    .gridPos(at(options.size))
    .datasource(CLICKHOUSE_REF)
    .unit(options.unit ?? 'short')
    .graphMode(BigValueGraphMode.None)
    .colorMode(BigValueColorMode.None)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .withTarget(new ClickHouseQueryBuilder(options.sql, 'table'))
  if (options.decimals !== undefined) panel.decimals(options.decimals)
  return panel
}

/** A table whose query returns `columns` (name → header), shown in that order under those headers. */
export function clickhouseTable(options: Common & { sql: string; columns: Record<string, string>; units?: Record<string, string> }) {
  const names = Object.keys(options.columns)
  const panel = new TablePanel()
    .title(options.title)
    .description(options.description)
    .gridPos(at(options.size))
    .datasource(CLICKHOUSE_REF)
    .withTarget(new ClickHouseQueryBuilder(options.sql, 'table'))
    .withTransformation(organizeColumns(names, options.columns))
  for (const [column, unit] of Object.entries(options.units ?? {})) panel.overrideByName(column, [{ id: 'unit', value: unit }])
  return panel
}

export function clickhousePie(options: Common & { sql: string }) {
  return new PieChartPanel()
    .title(options.title)
    .description(options.description)
    .gridPos(at(options.size))
    .datasource(CLICKHOUSE_REF)
    .unit(options.unit ?? 'short')
    .pieType(PieChartType.Donut)
    .reduceOptions(new ReduceDataOptionsBuilder().values(true).calcs(['lastNotNull']).fields(''))
    .legend(new PieChartLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.Table).placement(LegendPlacement.Right).values([PieChartLegendValues.Value, PieChartLegendValues.Percent]))
    .withTarget(new ClickHouseQueryBuilder(options.sql, 'table'))
}

export function clickhouseBars(options: Common & { sql: string }) {
  return new BarGaugePanel()
    .title(options.title)
    .description(options.description)
    .gridPos(at(options.size))
    .datasource(CLICKHOUSE_REF)
    .unit(options.unit ?? 'short')
    .orientation(VizOrientation.Horizontal)
    .displayMode(BarGaugeDisplayMode.Basic)
    .reduceOptions(new ReduceDataOptionsBuilder().values(true).calcs(['lastNotNull']).fields(''))
    .withTarget(new ClickHouseQueryBuilder(options.sql, 'table'))
}

/** A logs panel, newest first, over one query of either datasource. */
function logs(options: Omit<Common, 'unit'>, datasource: { type: string; uid: string }, query: Builder<Dataquery>) {
  return new LogsPanel()
    .title(options.title)
    .description(options.description)
    .gridPos(at(options.size))
    .datasource(datasource)
    .showTime(true)
    .wrapLogMessage(true)
    .enableLogDetails(true)
    .sortOrder(LogsSortOrder.Descending)
    .withTarget(query)
}

export function clickhouseLogs(options: Omit<Common, 'unit'> & { sql: string }) {
  return logs(options, CLICKHOUSE_REF, new ClickHouseQueryBuilder(options.sql, 'logs'))
}

/** PromQL series: `[expr, legend]` pairs (refIds A, B, …). Names must be in core/metrics/catalog.ts. */
export function prometheusTimeseries(options: Common & { series: readonly (readonly [string, string])[]; stacked?: boolean; bars?: boolean }) {
  const panel = timeseries(options).datasource(PROMETHEUS_REF)
  options.series.forEach(([expr, legend], index) =>
    panel.withTarget(new PrometheusQuery().datasource(PROMETHEUS_REF).expr(expr).legendFormat(legend).range().refId(String.fromCharCode(65 + index))))
  return panel
}

export function prometheusStat(options: Common & { expr: string }) {
  return new StatPanel()
    .title(options.title)
    .description(options.description)
    .gridPos(at(options.size))
    .datasource(PROMETHEUS_REF)
    .unit(options.unit ?? 'short')
    .graphMode(BigValueGraphMode.Area)
    .colorMode(BigValueColorMode.None)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .withTarget(new PrometheusQuery().datasource(PROMETHEUS_REF).expr(options.expr).instant().refId('A'))
}

export function elasticsearchTimeseries(options: Common & { query: Builder<Dataquery>; stacked?: boolean; bars?: boolean }) {
  return timeseries(options).datasource(ELASTICSEARCH_REF).withTarget(options.query)
}

export function elasticsearchLogs(options: Omit<Common, 'unit'> & { query: Builder<Dataquery> }) {
  return logs(options, ELASTICSEARCH_REF, options.query)
}

/** Documents (a raw_data query) as a table of `columns` (field → header): the other fields are dropped. */
export function elasticsearchTable(options: Omit<Common, 'unit'> & { query: Builder<Dataquery>; columns: Record<string, string> }) {
  const names = Object.keys(options.columns)
  return new TablePanel()
    .title(options.title)
    .description(options.description)
    .gridPos(at(options.size))
    .datasource(ELASTICSEARCH_REF)
    .withTarget(options.query)
    .withTransformation({ id: 'filterFieldsByName', options: { include: { names } } })
    .withTransformation(organizeColumns(names, options.columns))
}

/** Grafana's 'organize' transformation: the columns in the given order, under their display names. */
function organizeColumns(names: readonly string[], columns: Readonly<Record<string, string>>) {
  return { id: 'organize', options: { excludeByName: {}, indexByName: Object.fromEntries(names.map((name, index) => [name, index])), renameByName: columns } }
}
