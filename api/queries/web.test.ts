import { describe, expect, it } from 'vitest'
import { ProblemError } from '../../core/http/problem.ts'
import { parseFilters } from '../filters.ts'
import { aggregatePlan, breakdownPlan, timeseriesPlan } from '../web-plan.ts'
import { funnelQuery, visitorsPerStep } from './funnel.ts'
import { anomaliesQuery, logStatsQuery, topErrorsQuery } from './logs.ts'
import { notificationFailuresQuery, notificationFunnelQuery } from './notifications.ts'
import { rawEventsQuery, sessionsQuery } from './web.ts'

const scope = { database: 'eddy', projectId: 'alpha', fromMs: 1_000_000_020_000, toMs: 1_000_003_620_000, timezone: 'Europe/Berlin' }
const page = { sort: 'visitors' as const, limit: 10 }

const sources = (plan: { parts: readonly { source: string }[] }) => plan.parts.map((part) => part.source)

describe('which table answers', () => {
  it('aggregate: raw events for visitors and pageviews, sessions for visit metrics', () => {
    expect(sources(aggregatePlan([], ['visitors', 'pageviews', 'bounce_rate'], true))).toEqual(['events_click', 'sessions'])
    const byPath = aggregatePlan(parseFilters('[["is","path",["/"]]]'), ['visitors', 'sessions', 'bounce_rate'], false)
    expect(sources(byPath)).toEqual(['events_click'])
    expect(byPath.unavailable).toEqual(['sessions', 'bounce_rate'])
    expect(() => aggregatePlan(parseFilters('[["is","path",["/"]]]'), ['sessions'], true)).toThrow(ProblemError)
  })

  it('timeseries: clicks_1m for pageviews and per-minute visitors, raw events when the per-minute rows would double count', () => {
    expect(sources(timeseriesPlan([], ['pageviews'], 'day', true, true))).toEqual(['clicks_1m'])
    expect(sources(timeseriesPlan([], ['visitors', 'pageviews'], 'minute', true, true))).toEqual(['clicks_1m'])
    // A visitor seen in two minutes of one hour is one visitor of that hour.
    expect(sources(timeseriesPlan([], ['visitors'], 'hour', true, true))).toEqual(['events_click'])
    expect(sources(timeseriesPlan(parseFilters('[["is_not","path",["/"]]]'), ['pageviews'], 'hour', true, true))).toEqual(['clicks_1m'])
    // A visitor on two of the paths in one minute is in two rows.
    expect(sources(timeseriesPlan(parseFilters('[["is","path",["/","/a"]]]'), ['visitors'], 'minute', true, true))).toEqual(['events_click'])
    expect(sources(timeseriesPlan(parseFilters('[["is","path",["/"]],["is","os",["Linux"]]]'), ['pageviews'], 'hour', true, true))).toEqual(['events_click'])
    expect(sources(timeseriesPlan(parseFilters('[["is","utm_medium",["email"]]]'), ['pageviews'], 'hour', true, true))).toEqual(['events_click'])
    expect(sources(timeseriesPlan([], ['pageviews'], 'hour', false, true))).toEqual(['events_click'])
    expect(sources(timeseriesPlan([], ['pageviews', 'sessions'], 'hour', true, true))).toEqual(['clicks_1m', 'sessions'])
  })

  it('breakdown: one table per list', () => {
    expect(breakdownPlan('path', ['pageviews'], [], true, page).source).toBe('clicks_1m')
    expect(breakdownPlan('path', ['visitors', 'pageviews'], [], true, page).source).toBe('events_click')
    expect(breakdownPlan('property:plan', ['visitors'], [], true, page).source).toBe('events_click')
    expect(breakdownPlan('entry_page', ['visitors'], [], true, page).source).toBe('sessions')
    expect(breakdownPlan('browser', ['visitors', 'bounce_rate'], [], true, page).source).toBe('sessions')
    expect(() => breakdownPlan('entry_page', ['visitors'], parseFilters('[["is","path",["/"]]]'), true, page)).toThrow(ProblemError)
    expect(() => breakdownPlan('path', ['bounce_rate'], [], true, page)).toThrow(ProblemError)
  })
})

describe('query builders', () => {
  it('raw events: project, range, scope and filters as parameters; FINAL for deduplication', () => {
    const built = rawEventsQuery({ scope, filters: parseFilters('[["is","country",["DE"]]]'), metrics: ['visitors', 'pageviews'], interval: 'day' })
    expect(built.query).toBe([
      'SELECT toUnixTimestamp(toStartOfDay(ts, {p3:String})) AS bucket, uniqExact(anonymous_id) AS m_visitors, countIf(type = \'pageview\') AS m_pageviews',
      'FROM eddy.events_click FINAL',
      'WHERE project_id = {p0:String}\n  AND ts >= fromUnixTimestamp64Milli({p1:Int64}) AND ts < fromUnixTimestamp64Milli({p2:Int64})\n  AND type = \'pageview\'\n  AND has({p4:Array(String)}, country)',
      'GROUP BY bucket',
      'ORDER BY bucket',
    ].join('\n'))
    expect(built.params).toEqual({ p0: 'alpha', p1: scope.fromMs, p2: scope.toMs, p3: 'Europe/Berlin', p4: ['DE'] })
  })

  it('a breakdown page is keyset-paged on (metric desc, value asc) and fetches one extra row', () => {
    const built = sessionsQuery({ scope, filters: [], metrics: ['visitors', 'bounce_rate'], dimension: 'entry_page', page: { sort: 'visitors', limit: 2, after: { metric: 5, value: '/b' } } })
    expect(built.query).toContain('SELECT entry_path AS value, uniqExact(anonymous_id) AS m_visitors')
    expect(built.query).toContain('AND is_deleted = 0')
    expect(built.query).toContain('HAVING m_visitors < {p4:Float64} OR (m_visitors = {p5:Float64} AND value > {p6:String})')
    expect(built.query).toContain('ORDER BY m_visitors DESC, value ASC\nLIMIT 3')
  })

  it('funnel: windowFunnel over raw events with steps as parameters', () => {
    const built = funnelQuery(scope, [{ path: '/' }, { event: "Signed'Up" }], 1_800_000, [])
    expect(built.query).toContain("windowFunnel(1800000)(toUInt64(toUnixTimestamp64Milli(ts)), (type = 'pageview' AND path = {p4:String}), (type IN ('custom', 'click') AND name = {p5:String}))")
    expect(built.params.p5).toBe("Signed'Up")
    expect(() => funnelQuery(scope, [{ path: '/' }], 1.5, [])).toThrow(RangeError)
    expect(visitorsPerStep([{ level: 1, visitors: 4 }, { level: 3, visitors: 2 }], 3)).toEqual([6, 2, 2])
  })

  it('logs and notifications read their aggregate tables with FINAL, scoped to the project', () => {
    for (const built of [
      logStatsQuery(scope, 'hour', { services: ['api'], levels: ['error'] }),
      topErrorsQuery(scope, [], 10, { occurrences: 3, service: 'a', fingerprint: 'f' }),
      anomaliesQuery(scope, ['api'], 10),
      notificationFunnelQuery({ scope, groupBy: ['channel'], only: { provider: ['ses'] } }),
      notificationFailuresQuery({ scope, groupBy: ['provider'], only: {} }, 10),
    ]) {
      expect(built.query).toMatch(/FROM eddy\.\w+ FINAL/)
      expect(built.query).toContain('project_id = {p0:String}')
      expect(built.params.p0).toBe('alpha')
    }
    expect(logStatsQuery(scope, 'hour', { services: [], levels: [] }).query).toContain('toStartOfHour(window_start, {p3:String})')
    expect(notificationFailuresQuery({ scope, groupBy: ['provider'], only: {} }, 10).query).toContain('GROUP BY error_code, status, provider')
  })
})
