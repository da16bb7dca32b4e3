import { DashboardBuilder, DashboardCursorSync, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import { from, PROJECT } from './clickhouse.ts'
import { clickhouseBars, clickhousePie, clickhouseStat, clickhouseTable, clickhouseTimeseries } from './panels.ts'
import { clickhouseDatasource, database, project } from './variables.ts'

/**
 * Web analytics: the questions of the api's /stats endpoints, answered from the same tables the
 * api uses (docs/api.md, "Which table answers what"): unique visitors from raw events (they cannot
 * be added up from per-minute rows), pageviews and breakdowns from clicks_1m summed over
 * source_partition, visit metrics from sessions, "now" from active_visitors_5m.
 */
const PAGEVIEWS = `type = 'pageview'`
const range = (column: string) => `${PROJECT} AND $__timeFilter(${column})`

/** Pageviews by one clicks_1m dimension, most first. */
const topByDimension = (dimension: string, label: string) => `
  SELECT if(value = '', '(none)', value) AS ${label}, sum(pageviews) AS views
  ${from('clicks_1m')}
  WHERE ${range('window_start')} AND dimension = '${dimension}'
  GROUP BY ${label}
  ORDER BY views DESC, ${label}
  LIMIT 20`

export function webAnalytics() {
  return new DashboardBuilder('Eddy / Web analytics')
    .uid('eddy-web-analytics')
    .description('Visitors, pageviews, sessions, top pages, sources, devices and countries of one project.')
    .tags(['eddy', 'web'])
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m')
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .variables([clickhouseDatasource(), database(), project('clicks_1m')])
    .withRow(new RowBuilder('Overview'))
    .withPanel(clickhouseStat({
      title: 'Visitors', description: 'Unique visitors (distinct anonymous ids) with a pageview in the range, from raw events.', size: { w: 4, h: 4 },
      sql: `SELECT uniqExact(anonymous_id) AS visitors ${from('events_click')} WHERE ${range('ts')} AND ${PAGEVIEWS}`,
    }))
    .withPanel(clickhouseStat({
      title: 'Pageviews', description: 'Pageviews in the range (clicks_1m, dimension total, summed over partitions).', size: { w: 4, h: 4 },
      sql: `SELECT sum(pageviews) AS views ${from('clicks_1m')} WHERE ${range('window_start')} AND dimension = 'total'`,
    }))
    .withPanel(clickhouseStat({
      title: 'Sessions', description: 'Visits (30-minute gap) starting in the range.', size: { w: 4, h: 4 },
      sql: `SELECT count() AS visits ${from('sessions')} WHERE ${range('session_start')} AND is_deleted = 0`,
    }))
    .withPanel(clickhouseStat({
      title: 'Bounce rate', description: 'Share of sessions with a single pageview.', size: { w: 4, h: 4 }, unit: 'percent', decimals: 0,
      sql: `SELECT if(count() = 0, NULL, 100 * sum(bounced) / count()) AS bounce_rate ${from('sessions')} WHERE ${range('session_start')} AND is_deleted = 0`,
    }))
    .withPanel(clickhouseStat({
      title: 'Visit duration', description: 'Mean session duration.', size: { w: 4, h: 4 }, unit: 's', decimals: 0,
      sql: `SELECT if(count() = 0, NULL, sum(duration_ms) / count() / 1000) AS visit_duration ${from('sessions')} WHERE ${range('session_start')} AND is_deleted = 0`,
    }))
    .withPanel(clickhouseStat({
      title: 'Visitors now', description: 'Visitors active in the last 5 minutes (the hopping window ending at the next minute, fired early every second). Ignores the time picker.', size: { w: 4, h: 4 },
      sql: `
        SELECT sum(visitors) AS active_visitors
        ${from('active_visitors_5m')}
        WHERE ${PROJECT} AND window_end = toStartOfMinute(now()) + INTERVAL 1 MINUTE`,
    }))
    .withRow(new RowBuilder('Traffic'))
    .withPanel(clickhouseTimeseries({
      title: 'Visitors and pageviews', description: 'Pageviews from clicks_1m; unique visitors per bucket from raw events.', size: { w: 12, h: 8 },
      sql: [
        `
        SELECT $__timeInterval(window_start) AS time, sum(pageviews) AS Pageviews
        ${from('clicks_1m')}
        WHERE ${range('window_start')} AND dimension = 'total'
        GROUP BY time ORDER BY time`,
        `
        SELECT $__timeInterval(ts) AS time, uniqExact(anonymous_id) AS Visitors
        ${from('events_click')}
        WHERE ${range('ts')} AND ${PAGEVIEWS}
        GROUP BY time ORDER BY time`,
      ],
    }))
    .withPanel(clickhouseTimeseries({
      title: 'Sessions and bounce rate', description: 'Sessions by start time; bounce rate on the right axis.', size: { w: 12, h: 8 },
      sql: `
        SELECT $__timeInterval(session_start) AS time, count() AS Sessions, round(100 * avg(bounced), 1) AS \`Bounce rate %\`
        ${from('sessions')}
        WHERE ${range('session_start')} AND is_deleted = 0
        GROUP BY time ORDER BY time`,
    }).overrideByName('Bounce rate %', [{ id: 'unit', value: 'percent' }, { id: 'custom.axisPlacement', value: 'right' }]))
    .withPanel(clickhouseTimeseries({
      title: 'Realtime: pageviews per minute', description: 'The last 30 minutes whatever the time picker says.', size: { w: 24, h: 6 }, bars: true,
      sql: `
        SELECT toStartOfMinute(window_start) AS time, sum(pageviews) AS Pageviews
        ${from('clicks_1m')}
        WHERE ${range('window_start')} AND dimension = 'total'
        GROUP BY time ORDER BY time`,
    }).timeFrom('30m'))
    .withRow(new RowBuilder('Pages and sources'))
    .withPanel(clickhouseTable({
      title: 'Top pages', description: 'Pageviews by path.', size: { w: 8, h: 10 },
      sql: topByDimension('path', 'page'), columns: { page: 'Page', views: 'Pageviews' },
    }))
    .withPanel(clickhouseTable({
      title: 'Entry pages', description: 'Sessions by the page they started on, with their bounce rate.', size: { w: 8, h: 10 },
      sql: `
        SELECT entry_path AS entry_page, count() AS visits, round(100 * avg(bounced)) AS bounce_rate
        ${from('sessions')}
        WHERE ${range('session_start')} AND is_deleted = 0
        GROUP BY entry_page
        ORDER BY visits DESC, entry_page
        LIMIT 20`,
      columns: { entry_page: 'Entry page', visits: 'Sessions', bounce_rate: 'Bounce rate' }, units: { bounce_rate: 'percent' },
    }))
    .withPanel(clickhouseTable({
      title: 'Page transitions', description: 'Most frequent page-to-page moves (page_transitions_1h; hourly, so the range widens to whole hours).', size: { w: 8, h: 10 },
      sql: `
        SELECT from_path AS from_page, to_path AS to_page, sum(transitions) AS moves
        ${from('page_transitions_1h')}
        WHERE ${PROJECT} AND window_start >= toStartOfHour($__fromTime) AND window_start <= $__toTime AND transitions > 0
        GROUP BY from_page, to_page
        ORDER BY moves DESC, from_page, to_page
        LIMIT 20`,
      columns: { from_page: 'From', to_page: 'To', moves: 'Transitions' },
    }))
    .withPanel(clickhouseTable({
      title: 'Top referrers', description: 'Pageviews by referring domain; (none) is direct traffic or later pages of a visit.', size: { w: 8, h: 9 },
      sql: topByDimension('referrer_domain', 'referrer'), columns: { referrer: 'Referrer', views: 'Pageviews' },
    }))
    .withPanel(clickhouseTable({
      title: 'UTM sources', description: 'Pageviews by utm_source.', size: { w: 8, h: 9 },
      sql: topByDimension('utm_source', 'utm_source'), columns: { utm_source: 'Source', views: 'Pageviews' },
    }))
    .withPanel(clickhouseTable({
      title: 'UTM campaigns', description: 'Pageviews by utm_campaign.', size: { w: 8, h: 9 },
      sql: topByDimension('utm_campaign', 'utm_campaign'), columns: { utm_campaign: 'Campaign', views: 'Pageviews' },
    }))
    .withRow(new RowBuilder('Devices and countries'))
    .withPanel(clickhousePie({ title: 'Devices', description: 'Pageviews by device type.', size: { w: 6, h: 9 }, sql: topByDimension('device_type', 'device') }))
    .withPanel(clickhousePie({ title: 'Browsers', description: 'Pageviews by browser.', size: { w: 6, h: 9 }, sql: topByDimension('browser', 'browser') }))
    .withPanel(clickhousePie({ title: 'Operating systems', description: 'Pageviews by operating system.', size: { w: 6, h: 9 }, sql: topByDimension('os', 'os') }))
    .withPanel(clickhouseBars({ title: 'Countries', description: 'Pageviews by country (ISO code).', size: { w: 6, h: 9 }, sql: topByDimension('country', 'country') }))
}
