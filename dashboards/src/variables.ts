import {
  ConstantVariableBuilder, DatasourceVariableBuilder, QueryVariableBuilder, TextBoxVariableBuilder, VariableRefresh, VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard'
import { CLICKHOUSE_REF, CLICKHOUSE_VARIABLE, ELASTICSEARCH_VARIABLE, PROMETHEUS_REF, PROMETHEUS_VARIABLE, PROVISIONED } from './datasources.ts'
import { dedent } from './clickhouse.ts'

/** The ClickHouse datasource, defaulting to the provisioned one. */
export const clickhouseDatasource = () =>
  new DatasourceVariableBuilder(CLICKHOUSE_VARIABLE)
    .label('ClickHouse')
    .type(PROVISIONED.clickhouse.type)
    .current({ text: PROVISIONED.clickhouse.name, value: PROVISIONED.clickhouse.uid })

export const prometheusDatasource = () =>
  new DatasourceVariableBuilder(PROMETHEUS_VARIABLE)
    .label('Prometheus')
    .type(PROVISIONED.prometheus.type)
    .current({ text: PROVISIONED.prometheus.name, value: PROVISIONED.prometheus.uid })

/**
 * The Elasticsearch datasource of a dashboard's Search row. The index comes with the datasource
 * (Grafana's Elasticsearch queries name none), so the logs and notifications dashboards default to
 * different provisioned ones.
 */
export const elasticsearchDatasource = (provisioned: typeof PROVISIONED.elasticsearch | typeof PROVISIONED.elasticsearchNotifications) =>
  new DatasourceVariableBuilder(ELASTICSEARCH_VARIABLE)
    .label('Elasticsearch')
    .type(provisioned.type)
    .current({ text: provisioned.name, value: provisioned.uid })
    .description(`Elasticsearch datasource of the Search row; its index must be ${provisioned.index}.`)

/**
 * Lucene query text for the Search row, inserted as is (`${search:raw}`) in parentheses after the
 * project and service/channel filters. `*`, the default, matches everything; an empty box is a
 * Lucene syntax error (`()`), which Grafana's variables cannot avoid.
 */
export const search = (example: string) =>
  new TextBoxVariableBuilder('search')
    .label('Search')
    .description(`Lucene query for the Elasticsearch panels of the Search row, e.g. ${example}; * matches everything (empty is a syntax error).`)
    .defaultValue('*')
    .current({ text: '*', value: '*' })

/** Eddy's database (CLICKHOUSE_DATABASE, default eddy); change it here and regenerate for another. */
export const DATABASE = 'eddy'
export const database = () =>
  new ConstantVariableBuilder('database').value(DATABASE).description('ClickHouse database of the Eddy tables')

/** A query variable of the ClickHouse plugin: its query model is `{ rawSql }`. */
function clickhouseQueryVariable(name: string, sql: string) {
  const rawSql = dedent(sql)
  return new QueryVariableBuilder(name)
    .datasource(CLICKHOUSE_REF)
    .query({ rawSql, editorType: 'sql', refId: `variable-${name}` })
    .definition(rawSql)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc)
}

/**
 * The project to show. A convenience, not tenancy: Grafana reads ClickHouse directly with one
 * read-only user that sees every project, so anyone with access to these dashboards can pick any
 * project. Per-project access is the api's job (the read key decides the project).
 */
export const project = (table: string) =>
  clickhouseQueryVariable('project', `SELECT DISTINCT project_id FROM \${database}.${table} ORDER BY project_id`)
    .label('Project')
    .description('Convenience filter, not access control: every project in ClickHouse is visible here.')

/** Log services of the project; several or All. */
export const service = () =>
  clickhouseQueryVariable('service', 'SELECT DISTINCT service FROM ${database}.logs_1m WHERE project_id = ${project:singlequote} ORDER BY service')
    .label('Service')
    .multi(true)
    .includeAll(true)
    .current({ text: 'All', value: '$__all' })

/** Notification channels of the project; several or All. */
export const channel = () =>
  clickhouseQueryVariable('channel', 'SELECT DISTINCT channel FROM ${database}.notifications_1m WHERE project_id = ${project:singlequote} ORDER BY channel')
    .label('Channel')
    .multi(true)
    .includeAll(true)
    .current({ text: 'All', value: '$__all' })

/** Prometheus scrape jobs (one per Eddy service), for the process panels. */
export const job = () =>
  new QueryVariableBuilder('job')
    .label('Service')
    .datasource(PROMETHEUS_REF)
    .query({ query: 'label_values(process_start_time_seconds, job)', refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 })
    .definition('label_values(process_start_time_seconds, job)')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' })
