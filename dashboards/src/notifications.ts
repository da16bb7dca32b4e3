import { DashboardBuilder, DashboardCursorSync, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import { from, PROJECT } from './clickhouse.ts'
import { PROVISIONED } from './datasources.ts'
import { countsBy, documents } from './elasticsearch.ts'
import { clickhouseBars, clickhouseStat, clickhouseTable, clickhouseTimeseries, elasticsearchTable, elasticsearchTimeseries } from './panels.ts'
import { channel, clickhouseDatasource, database, elasticsearchDatasource, project, search } from './variables.ts'

/**
 * Notifications: funnels, latencies and failures from notification_lifecycle (one row per
 * notification, counted in the period of its first event, as /api/v1/notifications/* does) and
 * status volumes from notifications_1m; and, in a collapsed row, Lucene search over the
 * Elasticsearch indices eddy-notifications-* (one document per lifecycle event).
 */
const CHANNELS = 'channel IN (${channel:singlequote})'
/** The Search row's Lucene query: project, channels, then the search box. */
const NOTIFICATION_SEARCH = 'project_id:"$project" AND channel:${channel:lucene} AND (${search:raw})'
const lifecycle = `${from('notification_lifecycle')}\n  WHERE ${PROJECT} AND ${CHANNELS} AND $__timeFilter_ms(first_seen)`
/** A stage counts notifications that reached it or a later one: an open implies delivery. */
const REACHED = {
  sent: 'countIf(sent_at IS NOT NULL OR delivered_at IS NOT NULL OR opened_at IS NOT NULL OR clicked_at IS NOT NULL)',
  delivered: 'countIf(delivered_at IS NOT NULL OR opened_at IS NOT NULL OR clicked_at IS NOT NULL)',
  opened: 'countIf(opened_at IS NOT NULL OR clicked_at IS NOT NULL)',
  clicked: 'countIf(clicked_at IS NOT NULL)',
  failed: 'countIf(failed_at IS NOT NULL)',
}
const QUANTILES = 'quantilesExact(0.5, 0.9, 0.95, 0.99)'

export function notifications() {
  return new DashboardBuilder('Eddy / Notifications')
    .uid('eddy-notifications')
    .description('Delivery funnel per channel and provider, delivery and open latency quantiles, failure reasons.')
    .tags(['eddy', 'notifications'])
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m')
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .variables([
      clickhouseDatasource(), database(), project('notifications_1m'), channel(),
      elasticsearchDatasource(PROVISIONED.elasticsearchNotifications), search('provider:twilio AND error_message:unreachable'),
    ])
    .withRow(new RowBuilder('Funnel'))
    .withPanel(clickhouseBars({
      title: 'Funnel', description: 'Notifications first seen in the range, by the furthest stage they reached.', size: { w: 8, h: 9 },
      sql: `
        SELECT count() AS Notifications, ${REACHED.sent} AS Sent, ${REACHED.delivered} AS Delivered,
          ${REACHED.opened} AS Opened, ${REACHED.clicked} AS Clicked, ${REACHED.failed} AS Failed
        ${lifecycle}`,
    }))
    .withPanel(clickhouseTable({
      title: 'Funnel by channel and provider', description: 'Each stage, and delivery and open rates (delivered over sent, opened over delivered).', size: { w: 16, h: 9 },
      sql: `
        SELECT channel AS notification_channel, provider AS notification_provider, count() AS total,
          ${REACHED.sent} AS reached_sent, ${REACHED.delivered} AS reached_delivered, ${REACHED.opened} AS reached_opened,
          ${REACHED.clicked} AS reached_clicked, ${REACHED.failed} AS reached_failed,
          if(reached_sent = 0, NULL, reached_delivered / reached_sent) AS delivery_rate,
          if(reached_delivered = 0, NULL, reached_opened / reached_delivered) AS open_rate
        ${lifecycle}
        GROUP BY notification_channel, notification_provider
        ORDER BY total DESC, notification_channel, notification_provider`,
      columns: {
        notification_channel: 'Channel', notification_provider: 'Provider', total: 'Notifications', reached_sent: 'Sent', reached_delivered: 'Delivered',
        reached_opened: 'Opened', reached_clicked: 'Clicked', reached_failed: 'Failed', delivery_rate: 'Delivery rate', open_rate: 'Open rate',
      },
      units: { delivery_rate: 'percentunit', open_rate: 'percentunit' },
    }))
    .withPanel(clickhouseTimeseries({
      title: 'Events by status', description: 'Lifecycle events per interval and status (notifications_1m, summed over partitions).', size: { w: 24, h: 8 }, stacked: true, bars: true,
      sql: `
        SELECT $__timeInterval(window_start) AS time, status, sum(notifications) AS events
        ${from('notifications_1m')}
        WHERE ${PROJECT} AND ${CHANNELS} AND $__timeFilter(window_start)
        GROUP BY time, status ORDER BY time`,
    }))
    .withRow(new RowBuilder('Latency'))
    .withPanel(clickhouseStat({
      title: 'Delivery p95', description: 'Sent to delivered, 95th percentile (exact, nearest rank).', size: { w: 6, h: 4 }, unit: 'ms',
      sql: `SELECT quantileExact(0.95)(sent_to_delivered_ms) AS delivery_p95 ${lifecycle}`,
    }))
    .withPanel(clickhouseStat({
      title: 'Open p50', description: 'Delivered to opened, median.', size: { w: 6, h: 4 }, unit: 'ms',
      sql: `SELECT quantileExact(0.5)(delivered_to_opened_ms) AS open_p50 ${lifecycle}`,
    }))
    .withPanel(clickhouseStat({
      title: 'Delivered', description: 'Notifications with a delivery latency (sent and delivered seen).', size: { w: 6, h: 4 },
      sql: `SELECT count(sent_to_delivered_ms) AS delivered_count ${lifecycle}`,
    }))
    .withPanel(clickhouseStat({
      title: 'Opened', description: 'Notifications with an open latency (delivered and opened seen).', size: { w: 6, h: 4 },
      sql: `SELECT count(delivered_to_opened_ms) AS opened_count ${lifecycle}`,
    }))
    .withPanel(clickhouseTable({
      title: 'Latency quantiles by channel and provider', description: 'Sent→delivered and delivered→opened: exact p50/p90/p95/p99 and max, in milliseconds.', size: { w: 14, h: 9 },
      sql: `
        SELECT channel AS notification_channel, provider AS notification_provider,
          count(sent_to_delivered_ms) AS delivered_count, ${QUANTILES}(sent_to_delivered_ms) AS dq,
          dq[1] AS delivery_p50, dq[2] AS delivery_p90, dq[3] AS delivery_p95, dq[4] AS delivery_p99, max(sent_to_delivered_ms) AS delivery_max,
          ${QUANTILES}(delivered_to_opened_ms) AS oq, oq[1] AS open_p50, oq[3] AS open_p95
        ${lifecycle}
        GROUP BY notification_channel, notification_provider
        ORDER BY notification_channel, notification_provider`,
      columns: {
        notification_channel: 'Channel', notification_provider: 'Provider', delivered_count: 'Delivered', delivery_p50: 'p50', delivery_p90: 'p90',
        delivery_p95: 'p95', delivery_p99: 'p99', delivery_max: 'max', open_p50: 'Open p50', open_p95: 'Open p95',
      },
      units: { delivery_p50: 'ms', delivery_p90: 'ms', delivery_p95: 'ms', delivery_p99: 'ms', delivery_max: 'ms', open_p50: 'ms', open_p95: 'ms' },
    }))
    .withPanel(clickhouseTimeseries({
      title: 'Delivery latency over time', description: 'Sent→delivered p50 and p95 of the notifications first seen in each interval.', size: { w: 10, h: 9 }, unit: 'ms',
      sql: `
        SELECT $__timeInterval(first_seen) AS time, quantileExact(0.5)(sent_to_delivered_ms) AS p50, quantileExact(0.95)(sent_to_delivered_ms) AS p95
        ${lifecycle} AND sent_to_delivered_ms IS NOT NULL
        GROUP BY time ORDER BY time`,
    }))
    .withRow(new RowBuilder('Failures'))
    .withPanel(clickhouseTable({
      title: 'Failure reasons', description: 'Failed notifications by error code and final status, with their share of all notifications in the range.', size: { w: 24, h: 9 },
      sql: `
        WITH (SELECT count() ${lifecycle}) AS all_notifications
        SELECT error_code AS reason, final_status AS failure_status, channel AS notification_channel, provider AS notification_provider,
          count() AS failures, failures / all_notifications AS share
        ${lifecycle} AND failed_at IS NOT NULL
        GROUP BY reason, failure_status, notification_channel, notification_provider
        ORDER BY failures DESC, reason, failure_status, notification_channel, notification_provider
        LIMIT 50`,
      columns: { reason: 'Error code', failure_status: 'Status', notification_channel: 'Channel', notification_provider: 'Provider', failures: 'Failures', share: 'Share' },
      units: { share: 'percentunit' },
    }))
    .withRow(new RowBuilder('Search (Elasticsearch)')
      .collapsed(true)
      .withPanel(elasticsearchTimeseries({
        title: 'Matching events by status', description: 'Lifecycle events matching the search box, per interval and status (Elasticsearch, eddy-notifications-*).', size: { w: 24, h: 8 }, stacked: true, bars: true,
        query: countsBy('status', NOTIFICATION_SEARCH),
      }))
      .withPanel(elasticsearchTable({
        title: 'Failed and bounced events', description: 'The newest 500 failed or bounced events matching the search box, with the provider\'s error.', size: { w: 24, h: 10 },
        query: documents(`${NOTIFICATION_SEARCH} AND status:(failed OR bounced)`, 500),
        columns: {
          ts: 'Time', status: 'Status', channel: 'Channel', provider: 'Provider', error_code: 'Error code', error_message: 'Error message',
          notification_id: 'Notification', template: 'Template',
        },
      })))
}
