import { describe, expect, it } from 'vitest'
import { problemField } from '../test/support/problem-field.ts'
import { chooseInterval, previousPeriod, resolvePeriod, toWholeMinutes } from './period.ts'
import { bucketStarts, formatLocal } from './zoned-time.ts'

const at = (text: string) => Date.parse(text)
const NOW = at('2026-03-29T10:20:30.500Z') // the day Europe/Berlin moves to summer time

const fieldOf = problemField

describe('resolvePeriod', () => {
  it('today and yesterday are local calendar days, 23 hours long across the DST change', () => {
    expect(resolvePeriod({ period: 'today' }, NOW)).toEqual({ fromMs: at('2026-03-29T00:00:00Z'), toMs: at('2026-03-30T00:00:00Z'), timezone: 'UTC' })
    const berlin = resolvePeriod({ period: 'today', timezone: 'Europe/Berlin' }, NOW)
    expect([berlin.fromMs, berlin.toMs]).toEqual([at('2026-03-28T23:00:00Z'), at('2026-03-29T22:00:00Z')])
    const yesterday = resolvePeriod({ period: 'yesterday', timezone: 'Asia/Kolkata' }, NOW)
    expect([yesterday.fromMs, yesterday.toMs]).toEqual([at('2026-03-27T18:30:00Z'), at('2026-03-28T18:30:00Z')])
  })

  it('Nd is N calendar days ending with today; Nm, Nh and realtime end at the next minute boundary', () => {
    expect(resolvePeriod({ period: '7d' }, NOW)).toMatchObject({ fromMs: at('2026-03-23T00:00:00Z'), toMs: at('2026-03-30T00:00:00Z') })
    expect(resolvePeriod({ period: '30m' }, NOW)).toMatchObject({ fromMs: at('2026-03-29T09:51:00Z'), toMs: at('2026-03-29T10:21:00Z') })
    expect(resolvePeriod({ period: '24h' }, NOW)).toMatchObject({ fromMs: at('2026-03-28T10:21:00Z'), toMs: at('2026-03-29T10:21:00Z') })
    expect(resolvePeriod({ period: 'realtime' }, NOW)).toMatchObject({ fromMs: at('2026-03-29T09:51:00Z'), toMs: at('2026-03-29T10:21:00Z') })
    expect(resolvePeriod({ period: 'month', timezone: 'UTC' }, NOW)).toMatchObject({ fromMs: at('2026-03-01T00:00:00Z'), toMs: at('2026-03-30T00:00:00Z') })
  })

  it('from/to: date-times with an offset, local date-times, and whole local days with `to` inclusive', () => {
    expect(resolvePeriod({ from: '2026-01-01T10:00:00+02:00', to: '2026-01-01T12:00:00Z' }, NOW)).toMatchObject({ fromMs: at('2026-01-01T08:00:00Z'), toMs: at('2026-01-01T12:00:00Z') })
    expect(resolvePeriod({ from: '2026-01-01T10:00', to: '2026-01-01T11:30:15.25', timezone: 'America/New_York' }, NOW))
      .toMatchObject({ fromMs: at('2026-01-01T15:00:00Z'), toMs: at('2026-01-01T16:30:15.250Z') })
    expect(resolvePeriod({ period: 'custom', from: '2026-01-01', to: '2026-01-31', timezone: 'Europe/Berlin' }, NOW))
      .toMatchObject({ fromMs: at('2025-12-31T23:00:00Z'), toMs: at('2026-01-31T23:00:00Z') })
  })

  it('names the offending field', () => {
    expect(fieldOf(() => resolvePeriod({ timezone: 'Mars/Olympus' }, NOW))).toBe('querystring/timezone')
    expect(fieldOf(() => resolvePeriod({ timezone: "UTC'; DROP TABLE x" }, NOW))).toBe('querystring/timezone')
    expect(fieldOf(() => resolvePeriod({ period: '3w' }, NOW))).toBe('querystring/period')
    expect(fieldOf(() => resolvePeriod({ period: '500d' }, NOW))).toBe('querystring/period')
    expect(fieldOf(() => resolvePeriod({ period: 'today', from: '2026-01-01', to: '2026-01-02' }, NOW))).toBe('querystring/period')
    expect(fieldOf(() => resolvePeriod({ from: '2026-01-01' }, NOW))).toBe('querystring/to')
    expect(fieldOf(() => resolvePeriod({ period: 'custom', to: '2026-01-01' }, NOW))).toBe('querystring/from')
    expect(fieldOf(() => resolvePeriod({ from: '2026-02-30', to: '2026-03-01' }, NOW))).toBe('querystring/from')
    // With an offset Date.parse would roll it over to 2 March.
    expect(fieldOf(() => resolvePeriod({ from: '2026-02-30T10:00:00Z', to: '2026-03-05' }, NOW))).toBe('querystring/from')
    expect(fieldOf(() => resolvePeriod({ from: '2026-01-01', to: '2026-04-31T00:00:00+02:00' }, NOW))).toBe('querystring/to')
    expect(fieldOf(() => resolvePeriod({ from: '2026-01-01T25:00', to: '2026-03-01' }, NOW))).toBe('querystring/from')
    expect(fieldOf(() => resolvePeriod({ from: 'yesterday-ish', to: '2026-03-01' }, NOW))).toBe('querystring/from')
    expect(fieldOf(() => resolvePeriod({ from: '2026-03-02', to: '2026-03-01' }, NOW))).toBe('querystring/to')
    expect(fieldOf(() => resolvePeriod({ from: '2020-01-01', to: '2026-03-01' }, NOW))).toBe('querystring/to')
  })
})

describe('intervals and buckets', () => {
  it('picks minute, hour or day by length and refuses too many buckets', () => {
    expect(chooseInterval(resolvePeriod({ period: '30m' }, NOW), undefined)).toBe('minute')
    expect(chooseInterval(resolvePeriod({ period: 'today' }, NOW), undefined)).toBe('hour')
    expect(chooseInterval(resolvePeriod({ period: '30d' }, NOW), undefined)).toBe('day')
    expect(chooseInterval(resolvePeriod({ period: 'today' }, NOW), 'minute')).toBe('minute')
    expect(fieldOf(() => chooseInterval(resolvePeriod({ period: '7d' }, NOW), 'minute'))).toBe('querystring/interval')
  })

  it('day buckets follow local midnights, hour buckets local hours (in half-hour zones, at :30 UTC)', () => {
    const days = bucketStarts(at('2026-03-27T23:00:00Z'), at('2026-03-30T22:00:00Z'), 'day', 'Europe/Berlin')
    expect(days.map((ms) => formatLocal(ms, 'Europe/Berlin'))).toEqual(['2026-03-28T00:00:00+01:00', '2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00'])
    const hours = bucketStarts(at('2026-03-29T10:20:00Z'), at('2026-03-29T12:00:00Z'), 'hour', 'Asia/Kolkata')
    expect(hours.map((ms) => formatLocal(ms, 'Asia/Kolkata'))).toEqual(['2026-03-29T15:00:00+05:30', '2026-03-29T16:00:00+05:30', '2026-03-29T17:00:00+05:30'])
    expect(bucketStarts(at('2026-03-29T10:20:30Z'), at('2026-03-29T10:23:00Z'), 'minute', 'UTC')).toEqual([at('2026-03-29T10:20:00Z'), at('2026-03-29T10:21:00Z'), at('2026-03-29T10:22:00Z')])
  })

  it('the previous period has the same length and ends where the period starts', () => {
    const period = resolvePeriod({ from: '2026-01-08', to: '2026-01-14' }, NOW)
    expect(previousPeriod(period)).toEqual({ fromMs: at('2026-01-01T00:00:00Z'), toMs: at('2026-01-08T00:00:00Z'), timezone: 'UTC' })
  })

  it('widens ranges to whole minutes for per-minute aggregates', () => {
    expect(toWholeMinutes({ fromMs: at('2026-01-01T00:00:30Z'), toMs: at('2026-01-01T00:10:01Z'), timezone: 'UTC' }))
      .toEqual({ fromMs: at('2026-01-01T00:00:00Z'), toMs: at('2026-01-01T00:11:00Z'), timezone: 'UTC' })
  })
})
