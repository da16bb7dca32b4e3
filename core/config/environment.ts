/** Environment variables Eddy reads, with their meaning; the README table is written from this. */
export const ENVIRONMENT = {
  PORT: 'HTTP port of the all-in-one process, ingest or api (default 8080).',
  HOST: 'Interface to listen on (default 0.0.0.0).',
  EDDY_DATA_DIR: 'Where the embedded log, the embedded ClickHouse and local state live (default ./data).',
  LOG_LEVEL: 'fatal, error, warn, info (default), debug, trace or silent.',
  KAFKA_BROKERS: 'Comma-separated Kafka bootstrap servers; unset means the embedded log.',
  SCHEMA_REGISTRY_URL: 'Confluent Schema Registry URL; unset means the file-backed local registry.',
  CLICKHOUSE_URL: 'ClickHouse server URL (http://host:8123); unset means the embedded engine (chDB).',
  CLICKHOUSE_DATABASE: 'ClickHouse database for Eddy tables (default eddy).',
  CLICKHOUSE_USER: 'ClickHouse user name.',
  CLICKHOUSE_PASSWORD: 'ClickHouse password.',
  ELASTICSEARCH_URL: 'Elasticsearch URL; unset means log search runs on ClickHouse.',
  REDIS_URL: 'Redis URL; unset means in-memory rate limits, cache and live fan-out.',
  EDDY_PROJECTS: 'Projects as JSON: [{"id":"shop","writeKeys":["…"],"readKeys":["…"]}].',
  EDDY_PROJECTS_FILE: 'Path of a JSON file with the same content as EDDY_PROJECTS.',
  EDDY_PROJECT_ID: 'Project id used with EDDY_WRITE_KEY/EDDY_READ_KEY (default default).',
  EDDY_WRITE_KEY: 'Write key of the single project (ingest).',
  EDDY_READ_KEY: 'Read key of the single project (API).',
  EDDY_PARTITIONS: 'Partitions per event topic (default 4).',
  EDDY_TOPIC_PREFIX: 'Prefix of topic and consumer group names (default eddy), to share one Kafka cluster between deployments.',
  EDDY_MAX_EVENT_BYTES: 'Largest accepted event in bytes (default 32768, as Segment).',
  EDDY_MAX_REQUEST_BYTES: 'Largest accepted request body in bytes, after gunzip (default 512000, as Segment).',
  EDDY_RETENTION_DAYS: 'Raw event retention; older events are rejected at ingest (default 400).',
  EDDY_SINK_MAX_BATCH_ROWS: 'Largest ClickHouse insert batch (default 20000).',
  EDDY_SINK_FLUSH_MS: 'Longest time rows wait before an insert (default 250).',
} as const

export type EnvironmentVariable = keyof typeof ENVIRONMENT
