import { DashboardBuilder, DashboardCursorSync, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import { clickhouseTable, prometheusStat, prometheusTimeseries } from './panels.ts'
import { clickhouseDatasource, database, job, prometheusDatasource } from './variables.ts'

/**
 * Pipeline health from the services' Prometheus metrics (core/metrics/catalog.ts; a test checks
 * every name below against it), plus one ClickHouse panel: how fresh each aggregate is.
 */
const RATE = '[$__rate_interval]'
const quantile = (q: number, metric: string, by: string) => `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket${RATE})))`

export function pipelineHealth() {
  return new DashboardBuilder('Eddy / Pipeline health')
    .uid('eddy-pipeline-health')
    .description('Ingest rate, consumer lag, watermark delay, late and dead-lettered events, sink latency and failures, api latency, process memory.')
    .tags(['eddy', 'pipeline'])
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .variables([prometheusDatasource(), clickhouseDatasource(), database(), job()])
    .withRow(new RowBuilder('Now'))
    .withPanel(prometheusStat({ title: 'Events/s', description: 'Events accepted per second, all streams.', size: { w: 4, h: 4 }, unit: 'ops', expr: `sum(rate(eddy_ingest_events_total${RATE}))` }))
    .withPanel(prometheusStat({ title: 'Rejected/s', description: 'Events and requests refused per second.', size: { w: 4, h: 4 }, unit: 'ops', expr: `sum(rate(eddy_ingest_rejections_total${RATE}))` }))
    .withPanel(prometheusStat({ title: 'Processing lag', description: 'Records not yet processed, all groups and partitions.', size: { w: 4, h: 4 }, expr: 'sum(eddy_processing_lag)' }))
    .withPanel(prometheusStat({ title: 'Watermark delay', description: 'The most any job task trails now.', size: { w: 4, h: 4 }, unit: 's', expr: 'max(eddy_watermark_delay_seconds)' }))
    .withPanel(prometheusStat({ title: 'Sink failures/s', description: 'Failed ClickHouse inserts per second (retried).', size: { w: 4, h: 4 }, unit: 'ops', expr: `sum(rate(eddy_sink_failures_total${RATE}))` }))
    .withPanel(prometheusStat({ title: 'Live clients', description: 'WebSocket clients on /api/v1/live.', size: { w: 4, h: 4 }, expr: 'sum(eddy_live_clients)' }))
    .withRow(new RowBuilder('Ingest'))
    .withPanel(prometheusTimeseries({
      title: 'Ingest rate', description: 'Events accepted per second, by stream.', size: { w: 8, h: 8 }, unit: 'ops', stacked: true,
      series: [[`sum by (stream) (rate(eddy_ingest_events_total${RATE}))`, '{{stream}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Requests by status', description: 'Ingest requests per second, by route and status.', size: { w: 8, h: 8 }, unit: 'reqps',
      series: [[`sum by (route, status) (rate(eddy_ingest_requests_total${RATE}))`, '{{route}} {{status}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Rejections by reason', description: 'Refused events or requests per second.', size: { w: 8, h: 8 }, unit: 'ops',
      series: [[`sum by (reason) (rate(eddy_ingest_rejections_total${RATE}))`, '{{reason}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Produce latency', description: 'Until the log acknowledged a batch (fsync or Kafka acks).', size: { w: 12, h: 8 }, unit: 's',
      series: [
        [quantile(0.5, 'eddy_produce_duration_seconds', 'topic'), 'p50 {{topic}}'],
        [quantile(0.99, 'eddy_produce_duration_seconds', 'topic'), 'p99 {{topic}}'],
      ],
    }))
    .withPanel(prometheusTimeseries({
      title: 'API latency', description: 'p95 by route.', size: { w: 12, h: 8 }, unit: 's',
      series: [[quantile(0.95, 'eddy_api_request_duration_seconds', 'route'), '{{route}}']],
    }))
    .withRow(new RowBuilder('Processing'))
    .withPanel(prometheusTimeseries({
      title: 'Lag', description: 'Records not yet processed (processing) and not yet committed (committed: moves at checkpoints, so it also holds what a restart would replay), per group.', size: { w: 12, h: 8 },
      series: [['sum by (group, topic) (eddy_processing_lag)', 'processing {{group}} {{topic}}'], ['sum by (group, topic) (eddy_consumer_lag)', 'committed {{group}} {{topic}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Watermark delay', description: 'Now minus the event-time watermark, the slowest partition of each job.', size: { w: 12, h: 8 }, unit: 's',
      series: [['max by (job) (eddy_watermark_delay_seconds)', '{{job}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Processed', description: 'Input records processed per second, per job (all instances).', size: { w: 12, h: 8 }, unit: 'reqps',
      series: [[`sum by (job) (rate(eddy_processed_records_total${RATE}))`, '{{job}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Late and dead-lettered events', description: 'Events later than the allowed lateness (to eddy.late) and records sent to eddy.dlq, per interval.', size: { w: 12, h: 8 }, bars: true,
      series: [
        [`sum by (job) (increase(eddy_late_events_total${RATE}))`, 'late {{job}}'],
        [`sum by (job) (increase(eddy_dlq_events_total${RATE}))`, 'dlq {{job}}'],
      ],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Window state', description: 'Bytes of window state per job, as the jobs report it at each scrape.', size: { w: 8, h: 8 }, unit: 'bytes',
      series: [['sum by (job) (eddy_window_state_bytes)', '{{job}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'State store', description: 'The state store on disk per instance, and the heap its cache of decoded hot keys takes per job (EDDY_STATE_CACHE_MB bounds the sum).', size: { w: 8, h: 8 }, unit: 'bytes',
      series: [['eddy_state_store_bytes', 'on disk {{instance}}'], ['sum by (job) (eddy_state_cache_bytes)', 'cache {{job}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'State cache hit rate', description: 'Keyed state lookups answered from the cache rather than read from the store, per job.', size: { w: 8, h: 8 }, unit: 'percentunit',
      series: [[`sum by (job) (rate(eddy_state_cache_lookups_total{result="hit"}${RATE})) / sum by (job) (rate(eddy_state_cache_lookups_total${RATE}))`, '{{job}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Checkpoints', description: 'p99 per job: the snapshot that holds the processor thread, the whole checkpoint until durable, a partition restored on assignment, and the input a checkpoint covers (what a kill -9 replays).', size: { w: 8, h: 8 }, unit: 's',
      series: [
        [quantile(0.99, 'eddy_checkpoint_snapshot_seconds', 'job'), 'snapshot {{job}}'],
        [quantile(0.99, 'eddy_checkpoint_duration_seconds', 'job'), 'durable {{job}}'],
        [quantile(0.99, 'eddy_state_restore_seconds', 'job'), 'restore {{job}}'],
        [quantile(0.99, 'eddy_checkpoint_interval_seconds', 'job'), 'interval {{job}}'],
      ],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Changelog', description: 'Distributed mode: changelog records of checkpoints not yet acknowledged by Kafka (how far the changelog another instance would restore from trails this one), and records read per second to rebuild partitions moved here, per job.', size: { w: 12, h: 8 },
      series: [['sum by (job) (eddy_changelog_pending_records)', 'pending {{job}}'], [`sum by (job) (rate(eddy_changelog_restored_records_total${RATE}))`, 'restored/s {{job}}']],
    }))
    .withRow(new RowBuilder('Sink'))
    .withPanel(prometheusTimeseries({
      title: 'Insert latency', description: 'ClickHouse insert duration, p99 by table.', size: { w: 8, h: 8 }, unit: 's',
      series: [[quantile(0.99, 'eddy_sink_insert_duration_seconds', 'table'), '{{table}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Batch size', description: 'Mean rows per insert, by table.', size: { w: 8, h: 8 },
      series: [[`sum by (table) (rate(eddy_sink_batch_rows_sum${RATE})) / sum by (table) (rate(eddy_sink_batch_rows_count${RATE}))`, '{{table}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Insert failures', description: 'Failed inserts per second (each retried with backoff; consumption pauses meanwhile).', size: { w: 8, h: 8 }, unit: 'ops',
      series: [[`sum by (table) (rate(eddy_sink_failures_total${RATE}))`, '{{table}}']],
    }))
    .withPanel(clickhouseTable({
      title: 'Aggregate freshness', description: 'The newest window written to each aggregate table, and how long ago it started (all projects).', size: { w: 24, h: 7 },
      sql: `
        SELECT aggregate, newest_window, dateDiff('second', newest_window, now()) AS age
        FROM (
          SELECT 'clicks_1m' AS aggregate, max(window_start) AS newest_window FROM \${database}.clicks_1m
          UNION ALL SELECT 'logs_1m', max(window_start) FROM \${database}.logs_1m
          UNION ALL SELECT 'notifications_1m', max(window_start) FROM \${database}.notifications_1m
          UNION ALL SELECT 'active_visitors_5m', max(window_start) FROM \${database}.active_visitors_5m
        )
        ORDER BY aggregate`,
      columns: { aggregate: 'Table', newest_window: 'Newest window', age: 'Age' },
      units: { age: 's' },
    }))
    .withRow(new RowBuilder('Processes'))
    .withPanel(prometheusTimeseries({
      title: 'Memory', description: 'RSS per process, and the heap alive after the last full collection per thread (the processors\' thread holds their state).', size: { w: 8, h: 8 }, unit: 'bytes',
      series: [
        ['process_resident_memory_bytes{job=~"$job"}', '{{job}} {{instance}}'],
        ['eddy_thread_heap_live_bytes{job=~"$job"}', 'live heap {{thread}} {{job}} {{instance}}'],
      ],
    }))
    .withPanel(prometheusTimeseries({
      title: 'CPU', description: 'CPU seconds per second per process.', size: { w: 8, h: 8 }, unit: 'percentunit',
      series: [[`rate(process_cpu_seconds_total{job=~"$job"}${RATE})`, '{{job}} {{instance}}']],
    }))
    .withPanel(prometheusTimeseries({
      title: 'Event loop lag', description: 'p99 event-loop delay per thread since the last scrape: a checkpoint pause shows on the processors\' thread, a slow request on main.', size: { w: 8, h: 8 }, unit: 's',
      series: [['eddy_thread_event_loop_delay_p99_seconds{job=~"$job"}', '{{thread}} {{job}} {{instance}}']],
    }))
}
