import { DashboardBuilder, DashboardCursorSync, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import { from, PROJECT } from './clickhouse.ts'
import { PROVISIONED } from './datasources.ts'
import { countsBy, logLines } from './elasticsearch.ts'
import { clickhouseLogs, clickhouseStat, clickhouseTable, clickhouseTimeseries, elasticsearchLogs, elasticsearchTimeseries } from './panels.ts'
import { clickhouseDatasource, database, elasticsearchDatasource, project, search, service } from './variables.ts'

/**
 * Logs: volumes from logs_1m, error fingerprints from error_fingerprints_1h and anomalies from
 * log_anomalies (what /api/v1/logs/* reads), and the raw lines of events_log; and, in a collapsed
 * row, Lucene search over the Elasticsearch indices eddy-logs-* (the project and service variables
 * come from ClickHouse and filter both).
 */
const SERVICES = 'service IN (${service:singlequote})'
/** The Search row's Lucene query: project, services, then the search box. */
const LOG_SEARCH = 'project_id:"$project" AND service:${service:lucene} AND (${search:raw})'
const scope = (column: string) => `${PROJECT} AND ${SERVICES} AND $__timeFilter(${column})`
const ERRORS = `level IN ('error', 'fatal')`

export function logs() {
  return new DashboardBuilder('Eddy / Logs')
    .uid('eddy-logs')
    .description('Log volume by service and level, error rate, error fingerprints, anomalies and the lines themselves.')
    .tags(['eddy', 'logs'])
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .variables([
      clickhouseDatasource(), database(), project('logs_1m'), service(),
      elasticsearchDatasource(PROVISIONED.elasticsearch), search('level:error AND message:timeout'),
    ])
    .withRow(new RowBuilder('Volume'))
    .withPanel(clickhouseStat({
      title: 'Lines', description: 'Log lines in the range.', size: { w: 6, h: 4 },
      sql: `SELECT sum(lines) AS total_lines ${from('logs_1m')} WHERE ${scope('window_start')}`,
    }))
    .withPanel(clickhouseStat({
      title: 'Errors', description: 'Lines at level error or fatal.', size: { w: 6, h: 4 },
      sql: `SELECT sumIf(lines, ${ERRORS}) AS error_lines ${from('logs_1m')} WHERE ${scope('window_start')}`,
    }))
    .withPanel(clickhouseStat({
      title: 'Error rate', description: 'Error and fatal lines over all lines.', size: { w: 6, h: 4 }, unit: 'percentunit', decimals: 2,
      sql: `SELECT if(sum(lines) = 0, NULL, sumIf(lines, ${ERRORS}) / sum(lines)) AS error_rate ${from('logs_1m')} WHERE ${scope('window_start')}`,
    }))
    .withPanel(clickhouseStat({
      title: 'Anomalies', description: 'Minutes whose error rate left the service baseline.', size: { w: 6, h: 4 },
      sql: `SELECT count() AS anomalies ${from('log_anomalies')} WHERE ${scope('window_start')}`,
    }))
    .withPanel(clickhouseTimeseries({
      title: 'Lines by level', description: 'Lines per interval and level (logs_1m summed over partitions).', size: { w: 12, h: 8 }, stacked: true, bars: true,
      sql: `
        SELECT $__timeInterval(window_start) AS time, level, sum(lines) AS lines_per_level
        ${from('logs_1m')}
        WHERE ${scope('window_start')}
        GROUP BY time, level ORDER BY time`,
    }))
    .withPanel(clickhouseTimeseries({
      title: 'Lines by service', description: 'Lines per interval and service.', size: { w: 12, h: 8 }, stacked: true,
      sql: `
        SELECT $__timeInterval(window_start) AS time, service, sum(lines) AS lines_per_service
        ${from('logs_1m')}
        WHERE ${scope('window_start')}
        GROUP BY time, service ORDER BY time`,
    }))
    .withPanel(clickhouseTimeseries({
      title: 'Error rate by service', description: 'Error and fatal lines over all lines, per service.', size: { w: 24, h: 7 }, unit: 'percentunit',
      sql: `
        SELECT $__timeInterval(window_start) AS time, service, sumIf(lines, ${ERRORS}) / sum(lines) AS error_rate
        ${from('logs_1m')}
        WHERE ${scope('window_start')}
        GROUP BY time, service ORDER BY time`,
    }))
    .withRow(new RowBuilder('Errors'))
    .withPanel(clickhouseTable({
      title: 'Top error fingerprints', description: 'Error messages grouped by template (numbers, ids and such replaced), most frequent first. Hourly rows: the range widens to whole hours.', size: { w: 14, h: 10 },
      sql: `
        SELECT service, any(template) AS message_template, sum(occurrences) AS total,
          min(first_seen) AS first_occurrence, max(last_seen) AS last_occurrence, argMin(sample_message, first_seen) AS sample
        ${from('error_fingerprints_1h')}
        WHERE ${PROJECT} AND ${SERVICES} AND window_start >= toStartOfHour($__fromTime) AND window_start <= $__toTime
        GROUP BY service, fingerprint
        ORDER BY total DESC, service, fingerprint
        LIMIT 50`,
      columns: { service: 'Service', message_template: 'Template', total: 'Occurrences', first_occurrence: 'First seen', last_occurrence: 'Last seen', sample: 'Sample' },
    }))
    .withPanel(clickhouseTable({
      title: 'Anomalies', description: 'Minutes whose error rate left the service\'s volume-weighted baseline, newest first.', size: { w: 10, h: 10 },
      sql: `
        SELECT window_start AS minute, service, errors, lines, error_rate, baseline, direction
        ${from('log_anomalies')}
        WHERE ${scope('window_start')}
        ORDER BY window_start DESC, service
        LIMIT 100`,
      columns: { minute: 'Minute', service: 'Service', errors: 'Errors', lines: 'Lines', error_rate: 'Error rate', baseline: 'Baseline', direction: 'Direction' },
      units: { error_rate: 'percentunit', baseline: 'percentunit' },
    }))
    .withRow(new RowBuilder('Lines'))
    .withPanel(clickhouseLogs({
      title: 'Log lines', description: 'The newest 500 lines of the selected services (raw rows of events_log).', size: { w: 24, h: 14 },
      sql: `
        SELECT ts AS timestamp, level, service, host, message AS body, trace_id
        ${from('events_log')}
        WHERE ${scope('ts')}
        ORDER BY ts DESC
        LIMIT 500`,
    }))
    .withRow(new RowBuilder('Search (Elasticsearch)')
      .collapsed(true)
      .withPanel(elasticsearchTimeseries({
        title: 'Matching lines by level', description: 'Lines matching the search box, per interval and level (Elasticsearch, eddy-logs-*).', size: { w: 24, h: 8 }, stacked: true, bars: true,
        query: countsBy('level', LOG_SEARCH),
      }))
      .withPanel(elasticsearchLogs({
        title: 'Matching lines', description: 'The newest 500 lines matching the search box (Lucene: e.g. level:error AND message:timeout, attributes.region:eu, "exact phrase").', size: { w: 24, h: 14 },
        query: logLines(LOG_SEARCH, 500),
      })))
}
