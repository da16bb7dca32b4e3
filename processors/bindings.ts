import type avro from 'avsc'
import type { SearchStream } from '../core/search/port.ts'
import type { Stream } from '../schemas/avro/catalog.ts'
import type { Job } from './job.ts'
import { RAW_TABLE } from '../core/clickhouse/raw-tables.ts'

/**
 * Where outputs go, declared in one place and chosen at start-up, so jobs never know tables or
 * topics. Two kinds: a job's named outputs (rows its task emits), and the sinks of its input
 * stream, which get every decoded event (raw rows, search) whatever the job makes of it.
 */
export type OutputBinding =
  /** Rows, written as Avro records of the table's row type (core/clickhouse/avro-row-type.ts). */
  | { readonly kind: 'table'; readonly table: string; readonly rowType: avro.Type }
  /** Late events: re-encoded onto a topic with why and how late in headers. */
  | { readonly kind: 'late-topic'; readonly topic: string; readonly stream: Stream }

export type StreamSink =
  /** Every event's Avro datum in the stream's reader schema, inserted into its raw table as containers. */
  | { readonly kind: 'raw-table'; readonly table: string; readonly stream: Stream }
  /** Every event indexed for search; those Elasticsearch refuses go to the DLQ topic with the reason. */
  | { readonly kind: 'search-index'; readonly stream: SearchStream; readonly dlqTopic: string }

export interface JobBindings {
  readonly outputs: Readonly<Record<string, OutputBinding>>
  readonly streamSinks: readonly StreamSink[]
}

/** Named outputs → ClickHouse tables (unqualified); 'late' is bound to the late topic. */
export const OUTPUT_TABLES: Readonly<Record<string, string>> = {
  clicks_1m: 'clicks_1m',
  sessions: 'sessions',
  page_transitions_1h: 'page_transitions_1h',
  active_visitors_5m: 'active_visitors_5m',
  logs_1m: 'logs_1m',
  error_fingerprints_1h: 'error_fingerprints_1h',
  log_anomalies: 'log_anomalies',
  notifications_1m: 'notifications_1m',
  notification_lifecycle: 'notification_lifecycle',
}

export interface BindingOptions {
  readonly database: string
  readonly lateTopic: string
  readonly dlqTopic: string
  /** Each table's row type (tableRowType), read before any job starts. */
  readonly rowTypes: ReadonlyMap<string, avro.Type>
  /** Elasticsearch is configured: logs and notifications are indexed for search. */
  readonly search: boolean
}

/**
 * Binds each job's outputs and its stream's sinks. Only the first job of each stream stores the
 * stream's raw rows (and indexes them): one read and one decode per event for both its raw row
 * and its aggregates, under one checkpoint, so nothing is committed before both are durable.
 */
export function bindJobs(jobs: readonly Job<Stream>[], options: BindingOptions): JobBindings[] {
  const rawStored = new Set<Stream>()
  return jobs.map((job) => {
    const outputs: Record<string, OutputBinding> = {}
    for (const output of job.outputs) {
      if (output === 'late') {
        outputs[output] = { kind: 'late-topic', topic: options.lateTopic, stream: job.stream }
        continue
      }
      const table = OUTPUT_TABLES[output]
      const rowType = table === undefined ? undefined : options.rowTypes.get(table)
      if (table === undefined || rowType === undefined) throw new Error(`job "${job.name}" has the output "${output}", which is bound to no table`)
      outputs[output] = { kind: 'table', table: `${options.database}.${table}`, rowType }
    }
    const streamSinks: StreamSink[] = []
    if (!rawStored.has(job.stream)) {
      rawStored.add(job.stream)
      streamSinks.push({ kind: 'raw-table', table: `${options.database}.${RAW_TABLE[job.stream]}`, stream: job.stream })
      if (options.search && job.stream !== 'click') streamSinks.push({ kind: 'search-index', stream: job.stream, dlqTopic: options.dlqTopic })
    }
    return { outputs, streamSinks }
  })
}
