/**
 * Writes docs/metrics.md from the metric catalogue; `--check` fails when it is stale. Run with
 * `npx tsx core/metrics/doc.ts`; core/metrics/metrics.test.ts fails when the committed file differs.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_METRICS, METRICS, type MetricDefinition } from './catalog.ts'

export const METRICS_DOC = join(import.meta.dirname, '..', '..', 'docs', 'metrics.md')

export function renderMetricsDoc(): string {
  const row = (m: MetricDefinition) => {
    const labels = m.labels.length > 0 ? m.labels.map((label) => `\`${label}\``).join(', ') : '—'
    const buckets = m.buckets ? ` Buckets: ${m.buckets.join(', ')}.` : ''
    return `| \`${m.name}\` | ${m.type} | ${labels} | ${m.owner} | ${m.help.replaceAll('|', '\\|')}${buckets} |`
  }
  const table = (metrics: readonly MetricDefinition[]) => ['| name | type | labels | exported by | meaning |', '|---|---|---|---|---|', ...metrics.map(row)]
  return [
    '# Metrics',
    '',
    'Every Eddy process serves Prometheus metrics at `GET /metrics` (text exposition format, prom-client).',
    'Names follow the Prometheus conventions: an `eddy_` prefix, base units in the name (`_seconds`,',
    '`_bytes`), counters end in `_total`, histograms add `_bucket`, `_sum` and `_count` series. Labels',
    'are bounded sets: routes are route patterns (`/v1/batch`, `/api/v1/stats/:kind`), never raw URLs, and',
    'there is no project, visitor or notification id among them, so the number of series does not grow',
    'with traffic. Every process registers every metric, so a metric another service updates reads 0',
    'rather than missing.',
    '',
    '`/metrics` asks for no credentials, as Prometheus expects. The figures hold no project data, but',
    'they describe the deployment (routes, tables, topics, traffic): expose the port to the monitoring',
    'network only, or keep `/metrics` off the public proxy. Values that mirror another component\'s state',
    '(consumer lag, watermarks, window state, WebSocket clients) are read at scrape time; counters and',
    'histograms are updated where the work happens.',
    '',
    'The processors\' metrics label the Eddy job `job`, the name Prometheus gives its scrape job. Scrape',
    'the processors with `honor_labels: true` (as `infra/prometheus/prometheus.yml` does) so the Eddy job',
    'is kept; their `process_*` series have no `job` label and still get the scrape job\'s name.',
    '',
    'In `eddy start` the processors run on a worker thread (EDDY_PROCESSOR_THREAD=worker): its registry is',
    'merged into the process\'s `/metrics` at every scrape, series of the same name and labels summed, and',
    '`process_*` and `nodejs_*` come from the main thread only (the heap figures are that thread\'s). Each',
    'thread\'s own heap and event-loop delay are the `eddy_thread_*` gauges, labelled `thread` (`main`,',
    '`processors`): the processors\' live heap, which their state store bounds, is',
    '`eddy_thread_heap_live_bytes{thread="processors"}`.',
    '',
    'Generated from `core/metrics/catalog.ts` by `npx tsx core/metrics/doc.ts`; a test fails when this file',
    'is stale, and another when a Grafana panel (`dashboards/`) references a name that is not listed here.',
    '',
    '## Eddy',
    '',
    ...table(Object.values(METRICS)),
    '',
    '## Process and runtime (prom-client defaults)',
    '',
    'From `collectDefaultMetrics`; prom-client exports more (GC, active handles, heap spaces), these are',
    'the ones the dashboards rely on.',
    '',
    ...table(DEFAULT_METRICS),
    '',
    '## Useful queries',
    '',
    '```promql',
    'sum by (stream) (rate(eddy_ingest_events_total[5m]))                                   # events/s accepted',
    'histogram_quantile(0.99, sum by (le) (rate(eddy_produce_duration_seconds_bucket[5m])))  # p99 produce latency',
    'sum by (group, topic) (eddy_processing_lag)                                            # records not yet processed',
    'sum by (group, topic) (eddy_consumer_lag)                                              # records a restart would read again or for the first time',
    'histogram_quantile(0.99, sum by (le, job) (rate(eddy_checkpoint_snapshot_seconds_bucket[5m])))  # p99 snapshot pause per job',
    'max by (job) (eddy_watermark_delay_seconds)                                            # how far windows trail',
    'sum by (table) (rate(eddy_sink_failures_total[5m])) > 0                                # the store is refusing inserts',
    '```',
    '',
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rendered = renderMetricsDoc()
  if (process.argv.includes('--check')) {
    if (readFileSync(METRICS_DOC, 'utf8') !== rendered) {
      console.error('docs/metrics.md is stale: run `npx tsx core/metrics/doc.ts`')
      process.exit(1)
    }
  } else {
    writeFileSync(METRICS_DOC, rendered)
  }
}
