/**
 * The datasources Grafana is provisioned with (infra/grafana/provisioning/datasources/eddy.yaml).
 * Panels reference them through datasource variables whose default is the provisioned uid, so a
 * dashboard imported into another Grafana can be pointed at other datasources from its header.
 * A test checks these against the provisioning file.
 */
export const CLICKHOUSE_PLUGIN = 'grafana-clickhouse-datasource'

export const PROVISIONED = {
  clickhouse: { type: CLICKHOUSE_PLUGIN, uid: 'eddy-clickhouse', name: 'Eddy ClickHouse' },
  prometheus: { type: 'prometheus', uid: 'eddy-prometheus', name: 'Eddy Prometheus' },
  // The index is the Elasticsearch datasource's, not the query's: one datasource per index pattern.
  elasticsearch: { type: 'elasticsearch', uid: 'eddy-elasticsearch', name: 'Eddy Elasticsearch', index: 'eddy-logs-*' },
  elasticsearchNotifications: { type: 'elasticsearch', uid: 'eddy-elasticsearch-notifications', name: 'Eddy Elasticsearch notifications', index: 'eddy-notifications-*' },
} as const

/** Names of the datasource variables, and the refs panels use. */
export const CLICKHOUSE_VARIABLE = 'datasource'
export const PROMETHEUS_VARIABLE = 'prometheus'
export const CLICKHOUSE_REF = { type: CLICKHOUSE_PLUGIN, uid: `\${${CLICKHOUSE_VARIABLE}}` }
export const PROMETHEUS_REF = { type: 'prometheus', uid: `\${${PROMETHEUS_VARIABLE}}` }
export const ELASTICSEARCH_VARIABLE = 'elasticsearch'
export const ELASTICSEARCH_REF = { type: 'elasticsearch', uid: `\${${ELASTICSEARCH_VARIABLE}}` }
