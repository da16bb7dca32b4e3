import { describe, expect, it } from 'vitest'
import { expandQuery, interpolateVariables, referencedVariables, type QueryContext } from './interpolate.ts'
import { metricNames } from './promql.ts'

const context: QueryContext = {
  range: { fromMs: 1_700_000_000_000, toMs: 1_700_003_600_500 },
  intervalMs: 30_000,
  variables: { database: 'eddy', project: "o'neil", service: ['api', 'checkout'] },
}

describe('Grafana interpolation and ClickHouse plugin macros', () => {
  it('replaces template variables in every syntax and format', () => {
    expect(interpolateVariables('$database.t ${database}.t [[database]]', context)).toBe('eddy.t eddy.t eddy')
    expect(interpolateVariables('p = ${project:singlequote} AND s IN (${service:singlequote})', context)).toBe(`p = 'o\\'neil' AND s IN ('api','checkout')`)
    expect(interpolateVariables('${service:csv} ${service:regex} ${project:sqlstring}', context)).toBe(`api,checkout (api|checkout) 'o''neil'`)
    expect(interpolateVariables('$__from $__to $__interval $__interval_ms', context)).toBe('1700000000000 1700003600500 30s 30000')
    expect(() => interpolateVariables('s IN ($service)', context)).toThrow(/several values and no format/)
  })

  it('leaves the plugin macros to the plugin, and expands them as its backend does', () => {
    expect(interpolateVariables('$__timeFilter(ts) $__interval_s', context)).toBe('$__timeFilter(ts) $__interval_s')
    expect(expandQuery('WHERE $__timeFilter(ts)', context)).toBe('WHERE ts >= toDateTime(1700000000) AND ts <= toDateTime(1700003600)')
    expect(expandQuery('$__timeFilter_ms(ts)', context)).toBe('ts >= fromUnixTimestamp64Milli(1700000000000) AND ts <= fromUnixTimestamp64Milli(1700003600500)')
    expect(expandQuery('$__fromTime, $__toTime, $__interval_s', context)).toBe('toDateTime(1700000000), toDateTime(1700003600), 30')
    expect(expandQuery('$__timeInterval(toStartOfMinute(ts))', context)).toBe('toStartOfInterval(toDateTime(toStartOfMinute(ts)), INTERVAL 30 second)')
    expect(expandQuery('$__dateFilter(day)', context)).toBe(`day >= toDate('2023-11-14') AND day <= toDate('2023-11-14')`)
    expect(() => expandQuery('$__timeFilter(a, b)', context)).toThrow(/expects 1 argument/)
    expect(() => expandQuery('$__conditionalAll(x, $service)', { ...context, variables: { service: 'a' } })).toThrow(/unknown macro/)
  })

  it('lists the variables a text uses, without Grafana globals', () => {
    expect(referencedVariables('${database}.t WHERE p = ${project:singlequote} AND $__timeFilter(ts) [[job]] $__rate_interval')).toEqual(['database', 'project', 'job'])
  })
})

describe('PromQL metric names', () => {
  it('finds selected metrics and skips functions, labels, strings, ranges and keywords', () => {
    expect(metricNames('sum by (stream) (rate(eddy_ingest_events_total[$__rate_interval]))')).toEqual(['eddy_ingest_events_total'])
    expect(metricNames('histogram_quantile(0.99, sum by (le, topic) (rate(eddy_produce_duration_seconds_bucket{topic=~"eddy.clicks|x"}[5m])))')).toEqual(['eddy_produce_duration_seconds_bucket'])
    expect(metricNames('sum(rate(a_sum[1m])) / on (job) group_left sum(rate(a_count[1m])) > bool 0 unless absent(b)')).toEqual(['a_sum', 'a_count', 'b'])
    expect(metricNames('process_resident_memory_bytes{job=~"$job"} offset 5m')).toEqual(['process_resident_memory_bytes'])
    expect(metricNames('label_values(process_start_time_seconds, job)')).toEqual(['process_start_time_seconds'])
    expect(metricNames('1e3 * up')).toEqual(['up'])
  })
})
