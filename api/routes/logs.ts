import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { authenticateReadKey } from '../auth.ts'
import { decodeCursor, encodeCursor } from '../cursor.ts'
import { chooseInterval, resolvePeriod, toWholeMinutes } from '../period.ts'
import { anomaliesQuery, logStatsQuery, topErrorsQuery } from '../queries/logs.ts'
import { CursorProperties, ERROR_RESPONSES, Nullable, PeriodOut, PeriodProperties, READ_KEY_SECURITY, StringEnum } from '../schemas.ts'
import { bucketStarts, formatLocal } from '../zoned-time.ts'
import { describePeriod, scopeOf, type ReadRouteOptions } from './context.ts'

const HOUR = 3_600_000
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const

const Services = Type.Optional(Type.String({ maxLength: 2000, pattern: '^[^,]+(,[^,]+)*$', description: 'Only these services (comma-separated).' }))

const StatsQuery = Type.Object({
  ...PeriodProperties,
  interval: Type.Optional(StringEnum(['minute', 'hour', 'day'])),
  service: Services,
  level: Type.Optional(Type.String({ pattern: `^(${LEVELS.join('|')})(,(${LEVELS.join('|')}))*$`, description: `Only these levels (comma-separated): ${LEVELS.join(', ')}.` })),
}, { additionalProperties: false })

const ListQuery = Type.Object({ ...PeriodProperties, service: Services, ...CursorProperties }, { additionalProperties: false })

const list = (text: string | undefined) => (text ? [...new Set(text.split(','))] : [])

/** Logs: line counts over time, top error fingerprints and error-rate anomalies, all from aggregates. */
export async function logsRoutes(app: FastifyInstance, options: ReadRouteOptions): Promise<void> {
  app.get<{ Querystring: Static<typeof StatsQuery> }>('/api/v1/logs/stats', {
    schema: {
      summary: 'Log lines by service and level over time', tags: ['logs'], security: READ_KEY_SECURITY, querystring: StatsQuery,
      response: {
        200: Type.Object({
          period: PeriodOut,
          interval: Type.String(),
          buckets: Type.Array(Type.String(), { description: 'Bucket starts; every series has one count per bucket.' }),
          series: Type.Array(Type.Object({ service: Type.String(), level: Type.String(), total: Type.Integer(), counts: Type.Array(Type.Integer()) })),
        }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { query } = request
    // logs_1m cannot split a minute: a range is widened to whole minutes.
    const period = toWholeMinutes(resolvePeriod(query, options.now()))
    const interval = chooseInterval(period, query.interval)
    const rows = await options.runner.rows<{ bucket: number; service: string; level: string; total_lines: number }>(
      logStatsQuery(scopeOf(options, projectId, period), interval, { services: list(query.service), levels: list(query.level) }), request.log)
    const starts = bucketStarts(period.fromMs, period.toMs, interval, period.timezone)
    const index = new Map(starts.map((start, position) => [start, position]))
    const series = new Map<string, { service: string; level: string; total: number; counts: number[] }>()
    for (const row of rows) {
      const key = `${row.service}\u0000${row.level}`
      const entry = series.get(key) ?? { service: row.service, level: row.level, total: 0, counts: starts.map(() => 0) }
      series.set(key, entry)
      const position = index.get(Number(row.bucket) * 1000)
      if (position !== undefined) entry.counts[position] = Number(row.total_lines)
      entry.total += Number(row.total_lines)
    }
    return { period: describePeriod(period), interval, buckets: starts.map((start) => formatLocal(start, period.timezone)), series: [...series.values()] }
  })

  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/v1/logs/errors/top', {
    schema: {
      summary: 'Most frequent error fingerprints', tags: ['logs'], security: READ_KEY_SECURITY, querystring: ListQuery,
      response: {
        200: Type.Object({
          period: PeriodOut,
          results: Type.Array(Type.Object({
            service: Type.String(), fingerprint: Type.String(), template: Type.String(), occurrences: Type.Integer(),
            first_seen: Type.String(), last_seen: Type.String(), sample: Type.String(),
          })),
          next_cursor: Nullable(Type.String()),
        }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { query } = request
    // Fingerprints are counted per hour: the range is widened to whole hours.
    const resolved = resolvePeriod(query, options.now())
    const period = { ...resolved, fromMs: Math.floor(resolved.fromMs / HOUR) * HOUR, toMs: Math.ceil(resolved.toMs / HOUR) * HOUR }
    const limit = query.limit ?? 100
    const listName = `errors|${query.service ?? ''}|${period.fromMs}|${period.toMs}`
    const after = query.cursor ? decodeCursor(query.cursor, listName, ['number', 'string', 'string']) : undefined
    const rows = await options.runner.rows<{ service: string; fingerprint: string; message_template: string; total: number; first_seen_ms: number; last_seen_ms: number; sample: string }>(
      topErrorsQuery(scopeOf(options, projectId, period), list(query.service), limit, after ? { occurrences: after[0] as number, service: after[1] as string, fingerprint: after[2] as string } : undefined),
      request.log)
    const results = rows.slice(0, limit).map((row) => ({
      service: row.service, fingerprint: row.fingerprint, template: row.message_template, occurrences: Number(row.total),
      first_seen: new Date(Number(row.first_seen_ms)).toISOString(), last_seen: new Date(Number(row.last_seen_ms)).toISOString(), sample: row.sample,
    }))
    const last = results.at(-1)
    return {
      period: describePeriod(period),
      results,
      next_cursor: rows.length > limit && last ? encodeCursor(listName, [last.occurrences, last.service, last.fingerprint]) : null,
    }
  })

  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/v1/logs/anomalies', {
    schema: {
      summary: 'Minutes whose error rate left the baseline', tags: ['logs'], security: READ_KEY_SECURITY, querystring: ListQuery,
      response: {
        200: Type.Object({
          period: PeriodOut,
          results: Type.Array(Type.Object({
            service: Type.String(), minute: Type.String(), lines: Type.Integer(), errors: Type.Integer(),
            error_rate: Type.Number(), baseline: Type.Number(), factor: Type.Number(), direction: Type.String(),
          })),
          next_cursor: Nullable(Type.String()),
        }),
        ...ERROR_RESPONSES,
      },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { query } = request
    const period = toWholeMinutes(resolvePeriod(query, options.now()))
    const limit = query.limit ?? 100
    const listName = `anomalies|${query.service ?? ''}|${period.fromMs}|${period.toMs}`
    const after = query.cursor ? decodeCursor(query.cursor, listName, ['number', 'string']) : undefined
    const rows = await options.runner.rows<{ service: string; minute: number; lines: number; errors: number; error_rate: number; baseline: number; factor: number; direction: string }>(
      anomaliesQuery(scopeOf(options, projectId, period), list(query.service), limit, after ? { minuteMs: after[0] as number, service: after[1] as string } : undefined),
      request.log)
    const results = rows.slice(0, limit).map((row) => ({
      service: row.service, minute: formatLocal(Number(row.minute) * 1000, period.timezone), lines: Number(row.lines), errors: Number(row.errors),
      error_rate: Number(row.error_rate), baseline: Number(row.baseline), factor: Number(row.factor), direction: row.direction,
    }))
    const last = rows[limit - 1]
    return {
      period: describePeriod(period),
      results,
      next_cursor: rows.length > limit && last ? encodeCursor(listName, [Number(last.minute) * 1000, last.service]) : null,
    }
  })
}
