/**
 * Every Prometheus metric Eddy exports, in one place: name, type, help, labels and the service that
 * owns it. `createMetrics` builds the prom-client objects from it, docs/metrics.md is generated from
 * it, and the Grafana dashboards may only reference names listed here (a test checks each PromQL
 * expression), so a renamed metric cannot silently empty a panel.
 *
 * Naming follows Prometheus conventions: an `eddy_` prefix, base units in the name (`_seconds`,
 * `_bytes`), counters end in `_total`. Labels are bounded sets (routes are route patterns, never
 * URLs; no project or visitor ids), so a busy site cannot explode the series count.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram'
export type MetricOwner = 'ingest' | 'processors' | 'api' | 'every service'

export interface MetricDefinition {
  readonly name: string
  readonly type: MetricType
  readonly help: string
  readonly labels: readonly string[]
  readonly owner: MetricOwner
  /** Histogram bucket upper bounds, in the metric's unit. */
  readonly buckets?: readonly number[]
}

/** Latencies from a fsync'ed append (about a millisecond) to a stalled store (tens of seconds). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Time between checkpoints: every second normally, up to a minute for a partition whose snapshots are slow. */
const INTERVAL_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120]
/** Bytes a checkpoint writes: a few entries of changes up to whole snapshots of every session. */
const BYTE_BUCKETS = [1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000]
/** Rows per sink insert: the batch writer group-commits from a handful up to tens of thousands. */
const ROW_BUCKETS = [1, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000]

export const METRICS = {
  ingestRequests: {
    name: 'eddy_ingest_requests_total', type: 'counter', owner: 'ingest', labels: ['route', 'status'],
    help: 'Ingest HTTP requests answered, by route pattern and status code.',
  },
  ingestEvents: {
    name: 'eddy_ingest_events_total', type: 'counter', owner: 'ingest', labels: ['stream'],
    help: 'Events accepted and durable on the log, by stream (click, log, notification).',
  },
  ingestRejections: {
    name: 'eddy_ingest_rejections_total', type: 'counter', owner: 'ingest', labels: ['reason'],
    help: 'Requests refused, by reason: the problem code without INGEST_, lower case (invalid_events, event_too_large, unauthorized, rate_limited, bus_unavailable, …; docs/errors.md); lines refused inside a log body accepted in part count one each as invalid_line.',
  },
  webhookRejections: {
    name: 'eddy_webhook_rejections_total', type: 'counter', owner: 'ingest', labels: ['provider', 'reason'],
    help: 'Provider webhooks refused with 401, by provider (sendgrid, twilio, sns for the SES route) and reason: unsigned, invalid (the signature does not match), topic (an SNS topic the project does not accept), not_configured (the project has no secret for the provider); docs/webhooks.md. Also counted in eddy_ingest_rejections_total by problem code.',
  },
  produceDuration: {
    name: 'eddy_produce_duration_seconds', type: 'histogram', owner: 'ingest', labels: ['topic'], buckets: LATENCY_BUCKETS,
    help: 'Time from handing a batch to the log until it acknowledged it (fsync or Kafka acks), by topic.',
  },
  processedRecords: {
    name: 'eddy_processed_records_total', type: 'counter', owner: 'processors', labels: ['job'],
    help: 'Records of the input topic a job has processed, by job (each instance counts its own partitions; a partition replayed after a restart counts again): its rate is the job\'s throughput.',
  },
  consumerLag: {
    name: 'eddy_consumer_lag', type: 'gauge', owner: 'processors', labels: ['group', 'topic', 'partition'],
    help: 'Records between the committed offset of a consumer group and the end of the partition, exported by the instance that owns the partition (so sums count each once). Offsets are committed at checkpoints, so this includes the records processed since the last one (what a restart would replay); eddy_processing_lag is how far processing itself trails.',
  },
  processingLag: {
    name: 'eddy_processing_lag', type: 'gauge', owner: 'processors', labels: ['group', 'topic', 'partition'],
    help: 'Records between the next record a job will process and the end of the partition, exported by the instance that owns the partition: how far processing trails ingest, whatever the checkpoint interval.',
  },
  watermarkDelay: {
    name: 'eddy_watermark_delay_seconds', type: 'gauge', owner: 'processors', labels: ['job', 'partition'],
    help: 'Wall-clock time minus the event-time watermark of a job task: how far its windows trail now.',
  },
  windowStateSize: {
    name: 'eddy_window_state_bytes', type: 'gauge', owner: 'processors', labels: ['job'],
    help: 'Bytes of state a job holds on this instance: windows, keyed state (visitor paths, notification lifecycles and their timers) and the deduplicator\'s event ids changed since the last checkpoint (the others are on disk in the state store with EDDY_STATE_STORE=lmdb). The engine\'s estimates of the heap behind them, summed over its partitions.',
  },
  checkpointSnapshotDuration: {
    name: 'eddy_checkpoint_snapshot_seconds', type: 'histogram', owner: 'processors', labels: ['job'], buckets: LATENCY_BUCKETS,
    help: 'Time to snapshot one partition\'s state for a checkpoint, by job. The processor thread does nothing else meanwhile; it grows with the open windows and sessions, and checkpoints are spaced out to keep it to a small share of that thread (docs/processors.md).',
  },
  checkpointDuration: {
    name: 'eddy_checkpoint_duration_seconds', type: 'histogram', owner: 'processors', labels: ['job'], buckets: LATENCY_BUCKETS,
    help: 'Time from one partition\'s checkpoint snapshot until it is durable with its offset (its outputs written first, then the state store commit), by job. Processing goes on meanwhile; eddy_checkpoint_snapshot_seconds is the part that holds the thread.',
  },
  checkpointBytes: {
    name: 'eddy_checkpoint_bytes', type: 'histogram', owner: 'processors', labels: ['job'], buckets: BYTE_BUCKETS,
    help: 'Bytes one partition\'s checkpoint writes, by job: the parts kept whole (windows, sessions) and the state store entries changed since the last one, keys included.',
  },
  checkpointInterval: {
    name: 'eddy_checkpoint_interval_seconds', type: 'histogram', owner: 'processors', labels: ['job'], buckets: INTERVAL_BUCKETS,
    help: 'For each checkpoint of a partition, how long before it the first batch not yet in a checkpoint was processed, by job: the input a kill -9 would make it replay, in time. Up to EDDY_CHECKPOINT_INTERVAL_MS (3 s), sooner when changes pile up, longer when snapshots are slow (they are spaced out to keep them to a small share of the thread).',
  },
  stateRestoreDuration: {
    name: 'eddy_state_restore_seconds', type: 'histogram', owner: 'processors', labels: ['job'], buckets: LATENCY_BUCKETS,
    help: 'Time to open and restore one partition\'s state when it is assigned (at start, or after a partition moved here), by job; processing of the partition starts after it.',
  },
  changelogPending: {
    name: 'eddy_changelog_pending_records', type: 'gauge', owner: 'processors', labels: ['job'],
    help: 'Changelog records of checkpoints taken but not yet acknowledged by Kafka, by job (distributed mode): how far the changelog, from which another instance would restore a partition, trails the state here. It drains after each checkpoint; a level that stays up says the changelog topic cannot keep up.',
  },
  changelogRestoredRecords: {
    name: 'eddy_changelog_restored_records_total', type: 'counter', owner: 'processors', labels: ['job'],
    help: 'Changelog records read to rebuild partitions assigned to this instance, by job (distributed mode). About the compacted state of the partitions per assignment; eddy_state_restore_seconds is how long it took.',
  },
  convergencePending: {
    name: 'eddy_convergence_pending_ranges', type: 'gauge', owner: 'processors', labels: ['stream'],
    help: 'Ranges of windows that late events reached, waiting to be recomputed from the raw tables (automatic convergence, EDDY_CONVERGENCE_QUIET_MS), by stream. It drains a few seconds after late events stop; one that stays up says the recomputations fail or cannot keep up (see eddy_convergence_runs_total).',
  },
  convergenceLateRecords: {
    name: 'eddy_convergence_late_records_total', type: 'counter', owner: 'processors', labels: ['stream'],
    help: 'Late-topic records taken in by automatic convergence, by stream: each makes its window pending.',
  },
  convergenceRuns: {
    name: 'eddy_convergence_runs_total', type: 'counter', owner: 'processors', labels: ['stream', 'result'],
    help: 'Recomputations of pending ranges, by stream and result (ok, failed; a failed one is tried again).',
  },
  convergenceLag: {
    name: 'eddy_convergence_late_to_corrected_seconds', type: 'histogram', owner: 'processors', labels: ['stream'], buckets: [1, 2.5, 5, 10, 20, 30, 60, 120, 300, 900],
    help: 'From the first late record of a range to its windows recomputed, by stream: how long the aggregates disagreed with the raw tables.',
  },
  partitionsHalted: {
    name: 'eddy_partitions_halted', type: 'gauge', owner: 'processors', labels: ['job'],
    help: 'Partitions this instance stopped processing because their state store is damaged, by job. They stay paused and uncommitted; the log and /api/v1/pipeline/health say which file and what to do (restore it, or move it away and restart). Alert on anything above 0.',
  },
  stateStoreSize: {
    name: 'eddy_state_store_bytes', type: 'gauge', owner: 'processors', labels: [],
    help: 'Bytes the processors\' state store takes on disk on this instance (LMDB\'s data file in <data dir>/state; 0 for the heap store). The file keeps its size when entries go, and reuses the pages.',
  },
  stateCacheSize: {
    name: 'eddy_state_cache_bytes', type: 'gauge', owner: 'processors', labels: ['job'],
    help: 'Heap the keyed states decoded from the state store take in the cache (estimated), with the changes waiting for the next checkpoint, by job; bounded by EDDY_STATE_CACHE_MB over all jobs.',
  },
  stateCacheLookups: {
    name: 'eddy_state_cache_lookups_total', type: 'counter', owner: 'processors', labels: ['job', 'result'],
    help: 'Keyed state lookups, by job and result: hit (decoded in the cache) or miss (read from the state store). A low hit rate with a busy store says EDDY_STATE_CACHE_MB is too small for the hot keys.',
  },
  lateEvents: {
    name: 'eddy_late_events_total', type: 'counter', owner: 'processors', labels: ['job'],
    help: 'Events later than the allowed lateness, sent to the late topic instead of the aggregates, by job.',
  },
  dlqEvents: {
    name: 'eddy_dlq_events_total', type: 'counter', owner: 'processors', labels: ['job'],
    help: 'Records sent to the dead-letter topic (undecodable or invalid), by job.',
  },
  sinkBatchRows: {
    name: 'eddy_sink_batch_rows', type: 'histogram', owner: 'processors', labels: ['table'], buckets: ROW_BUCKETS,
    help: 'Rows per ClickHouse insert made by the batch writer, by table; documents per Elasticsearch _bulk under table="elasticsearch".',
  },
  sinkInsertDuration: {
    name: 'eddy_sink_insert_duration_seconds', type: 'histogram', owner: 'processors', labels: ['table'], buckets: LATENCY_BUCKETS,
    help: 'Duration of one successful ClickHouse insert, by table (an Elasticsearch _bulk under table="elasticsearch").',
  },
  sinkFailures: {
    name: 'eddy_sink_failures_total', type: 'counter', owner: 'processors', labels: ['table'],
    help: 'Failed ClickHouse insert attempts (each is retried with backoff), by table; failed Elasticsearch _bulk requests under table="elasticsearch".',
  },
  apiRequestDuration: {
    name: 'eddy_api_request_duration_seconds', type: 'histogram', owner: 'api', labels: ['route', 'status'], buckets: LATENCY_BUCKETS,
    help: 'API request duration, by route pattern and status code.',
  },
  threadHeapUsed: {
    name: 'eddy_thread_heap_used_bytes', type: 'gauge', owner: 'every service', labels: ['thread'],
    help: 'V8 heap in use by each thread of the process, garbage included: `main`, and `processors` when the processors run on a thread of their own (EDDY_PROCESSOR_THREAD=worker). nodejs_heap_size_used_bytes is the main thread\'s alone.',
  },
  threadHeapLive: {
    name: 'eddy_thread_heap_live_bytes', type: 'gauge', owner: 'every service', labels: ['thread'],
    help: 'Heap in use by each thread right after its smallest full (mark-compact) collection since the last scrape: what is alive, without the garbage a heap carries between collections. The figure to watch for growth; the processors\' thread holds their state.',
  },
  threadEventLoopDelayP99: {
    name: 'eddy_thread_event_loop_delay_p99_seconds', type: 'gauge', owner: 'every service', labels: ['thread'],
    help: '99th percentile of each thread\'s event-loop delay since the last scrape: how long work on that thread (a checkpoint pause on `processors`, a request on `main`) kept others waiting.',
  },
  threadEventLoopDelayMax: {
    name: 'eddy_thread_event_loop_delay_max_seconds', type: 'gauge', owner: 'every service', labels: ['thread'],
    help: 'Longest event-loop delay of each thread since the last scrape.',
  },
  liveClients: {
    name: 'eddy_live_clients', type: 'gauge', owner: 'api', labels: [],
    help: 'WebSocket clients connected to /api/v1/live on this instance.',
  },
} as const satisfies Record<string, MetricDefinition>

/**
 * The prom-client defaults (`collectDefaultMetrics`) that the dashboards and docs rely on; every
 * service registers them. prom-client exports more (GC, handles, heap spaces); these are the ones
 * Eddy promises. A test checks that prom-client still produces each.
 */
export const DEFAULT_METRICS: readonly MetricDefinition[] = [
  { name: 'process_cpu_seconds_total', type: 'counter', owner: 'every service', labels: [], help: 'Total user and system CPU time spent in seconds.' },
  { name: 'process_resident_memory_bytes', type: 'gauge', owner: 'every service', labels: [], help: 'Resident memory size in bytes.' },
  { name: 'process_start_time_seconds', type: 'gauge', owner: 'every service', labels: [], help: 'Start time of the process since unix epoch in seconds.' },
  { name: 'nodejs_heap_size_used_bytes', type: 'gauge', owner: 'every service', labels: [], help: 'Process heap size used from Node.js in bytes.' },
  { name: 'nodejs_eventloop_lag_p99_seconds', type: 'gauge', owner: 'every service', labels: [], help: 'The 99th percentile of the recorded event loop delays.' },
]

export type MetricKey = keyof typeof METRICS

/** Every metric name a service exports or a dashboard may reference. */
export function catalogueNames(): string[] {
  return [...Object.values(METRICS), ...DEFAULT_METRICS].map((metric) => metric.name)
}

/** The series names a metric produces: histograms add _bucket, _sum and _count. */
export function seriesNames(metric: MetricDefinition): string[] {
  return metric.type === 'histogram' ? [`${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`] : [metric.name]
}

/** Every name a PromQL expression may select. */
export function selectableNames(): Set<string> {
  return new Set([...Object.values(METRICS), ...DEFAULT_METRICS].flatMap(seriesNames))
}
