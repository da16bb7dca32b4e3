import { Type, type Static } from '@sinclair/typebox'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { ProblemError } from '../../core/http/problem.ts'
import { TEXT_FIELD } from '../../core/search/fields.ts'
import type { SearchHit, SearchStore, SearchStream } from '../../core/search/port.ts'
import { foldCase, highlightTokens, parseSearchQuery, QUERY_LIMITS, SEARCH_SCHEMAS, tokenSpans } from '../../core/search/query/index.ts'
import { authenticateReadKey } from '../auth.ts'
import { decodeCursor, encodeCursor } from '../cursor.ts'
import { API_PROBLEMS, invalidInput } from '../errors.ts'
import { resolvePeriod, type Period } from '../period.ts'
import { ERROR_RESPONSES, Nullable, PeriodOut, PeriodProperties, PROBLEM_RESPONSE, READ_KEY_SECURITY, StringEnum } from '../schemas.ts'
import { describePeriod, type ReadRouteOptions } from './context.ts'

export interface SearchRouteOptions extends ReadRouteOptions {
  readonly search: SearchStore
}

/** A search may cover at most this much event time: it reads raw lines, not aggregates. */
const MAX_SEARCH_RANGE_MS = 31 * 86_400_000

const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({
    maxLength: QUERY_LIMITS.text,
    description: `Kibana-style query: free words and "phrases" over the text, field:value, field:prefix*, attributes.key:value, AND / OR / NOT / -, parentheses. Empty: everything. At most ${QUERY_LIMITS.text} characters, ${QUERY_LIMITS.clauses} words, phrases or field:value clauses, each value at most ${QUERY_LIMITS.value} characters, parentheses at most ${QUERY_LIMITS.depth} deep; past any of these a 400 names q. See docs/search.md.`,
  })),
  ...PeriodProperties,
  order: Type.Optional(StringEnum(['desc', 'asc'], { description: 'By event time (then event id). Default desc, newest first.', default: 'desc' })),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Hits per page (1 to 500).' })),
  cursor: Type.Optional(Type.String({ maxLength: 2000, description: 'next_cursor of the previous page (same q, period and order).' })),
}, { additionalProperties: false })

const ContextQuery = Type.Object({
  id: Type.String({ format: 'uuid', description: 'event_id of the line (a hit of /logs/search).' }),
  before: Type.Optional(Type.Integer({ minimum: 0, maximum: 200, default: 20, description: 'Lines before it.' })),
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: 200, default: 20, description: 'Lines after it.' })),
  ...PeriodProperties,
}, { additionalProperties: false })

const Spans = Type.Array(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 2, maxItems: 2 }), { description: 'Matched [start, end) UTF-16 offsets in the text field.' })

function hitSchema(stream: SearchStream) {
  return Type.Object({
    event_id: Type.String(),
    ts: Type.String({ description: 'Event time, ISO 8601 UTC.' }),
    fields: Type.Record(Type.String(), Type.String(), { description: `The line's fields (${stream === 'log' ? 'service, host, level, message, logger, trace_id, span_id' : 'notification_id, channel, provider, template, user_id, status, error_code, error_message'}); absent ones are "".` }),
    attributes: Type.Record(Type.String(), Type.String()),
    highlight: Type.Optional(Spans),
  })
}

function pageSchema(stream: SearchStream) {
  return Type.Object({
    backend: StringEnum(['elasticsearch', 'clickhouse']),
    period: PeriodOut,
    total: Type.Object({ value: Type.Integer(), relation: StringEnum(['eq', 'gte'], { description: 'gte: at least value (counted up to 10,000).' }) }),
    hits: Type.Array(hitSchema(stream)),
    next_cursor: Nullable(Type.String()),
  })
}

/** Log and notification search, and the lines around a log line, from whichever store is configured. */
export async function searchRoutes(app: FastifyInstance, options: SearchRouteOptions): Promise<void> {
  for (const [stream, path, tag] of [['log', '/api/v1/logs/search', 'logs'], ['notification', '/api/v1/notifications/search', 'notifications']] as const) {
    app.get<{ Querystring: Static<typeof SearchQuery> }>(path, {
      schema: {
        summary: `Search ${tag}`, tags: [tag], security: READ_KEY_SECURITY, querystring: SearchQuery,
        response: { 200: pageSchema(stream), ...ERROR_RESPONSES },
      },
    }, async (request) => {
      const projectId = authenticateReadKey(request, options.keys)
      const { query } = request
      const parsed = parseSearchQuery(query.q ?? '', SEARCH_SCHEMAS[stream])
      if (!parsed.ok) throw invalidInput('querystring/q', parsed.field ? `${parsed.field}: ${parsed.reason}` : parsed.reason)
      const period = searchPeriod(query, options.now())
      const order = query.order ?? 'desc'
      const list = `${tag}/search:${order}`
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, list, ['number', 'string'])
      if (after && !Number.isSafeInteger(after[0])) throw invalidInput('querystring/cursor', 'is not a cursor this api handed out')
      const size = query.size ?? 50
      const result = await answer(request.log, () => options.search.search({
        stream, projectId, query: parsed.query, fromMs: period.fromMs, toMs: period.toMs, order, size,
        ...(after ? { after: { ts: after[0] as number, eventId: after[1] as string } } : {}),
      }))
      const tokens = new Set(highlightTokens(parsed.query))
      return {
        backend: options.search.backend,
        period: describePeriod(period),
        total: result.total,
        hits: result.hits.map((hit) => ({ ...hitOut(hit), ...(tokens.size > 0 ? { highlight: highlight(hit.fields[TEXT_FIELD[stream]] ?? '', tokens) } : {}) })),
        next_cursor: result.next ? encodeCursor(list, [result.next.ts, result.next.eventId]) : null,
      }
    })
  }

  const LinesOut = Type.Array(hitSchema('log'))
  app.get<{ Querystring: Static<typeof ContextQuery> }>('/api/v1/logs/context', {
    schema: {
      summary: 'Log lines around one line, from the same service and host', tags: ['logs'], security: READ_KEY_SECURITY, querystring: ContextQuery,
      response: { 200: Type.Object({ backend: StringEnum(['elasticsearch', 'clickhouse']), line: hitSchema('log'), before: LinesOut, after: LinesOut }), 404: PROBLEM_RESPONSE, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { query } = request
    const period = searchPeriod(query, options.now())
    const result = await answer(request.log, () => options.search.context({
      projectId, eventId: query.id.toLowerCase(), fromMs: period.fromMs, toMs: period.toMs, before: query.before ?? 20, after: query.after ?? 20,
    }))
    if (!result) throw new ProblemError(API_PROBLEMS.API_LINE_NOT_FOUND, `no log line ${query.id} in this project between ${describePeriod(period).from} and ${describePeriod(period).to}`)
    return { backend: options.search.backend, line: hitOut(result.anchor), before: result.before.map(hitOut), after: result.after.map(hitOut) }
  })
}

function searchPeriod(query: { period?: string; from?: string; to?: string; timezone?: string }, nowMs: number): Period {
  const period = resolvePeriod(query, nowMs, '24h')
  if (period.toMs - period.fromMs > MAX_SEARCH_RANGE_MS) {
    throw invalidInput(query.from !== undefined || query.to !== undefined ? 'querystring/to' : 'querystring/period', 'a search may cover at most 31 days')
  }
  return period
}

/**
 * Problems pass through (the ClickHouse runner already made its failures problems). From
 * Elasticsearch: unreachable or overloaded is a 503 to retry, a search past its time limit is too
 * expensive (as on ClickHouse); anything else is a bug, a 500 logged in full.
 */
async function answer<T>(log: FastifyBaseLogger, search: () => Promise<T>): Promise<T> {
  try {
    return await search()
  } catch (error) {
    if (error instanceof ProblemError) throw error
    const { name, statusCode } = error as { name?: string; statusCode?: number }
    if (name === 'TimeoutError') throw new ProblemError(API_PROBLEMS.API_QUERY_TOO_EXPENSIVE, 'the search ran past its time limit; narrow the period or the query')
    if (name === 'ConnectionError' || name === 'NoLivingConnectionsError' || (name === 'ResponseError' && (statusCode === 429 || (statusCode ?? 0) >= 500))) {
      log.warn({ err: error }, 'search store unavailable')
      throw new ProblemError(API_PROBLEMS.API_STORE_UNAVAILABLE, 'the search store did not answer', undefined, { 'retry-after': '5' })
    }
    throw error
  }
}

function hitOut(hit: SearchHit) {
  return { event_id: hit.eventId, ts: new Date(hit.ts).toISOString(), fields: hit.fields, attributes: hit.attributes }
}

/** Where the query's words occur in the text, by the same token rule the stores match with. */
function highlight(text: string, tokens: ReadonlySet<string>): Array<[number, number]> {
  const spans: Array<[number, number]> = []
  for (const [start, end] of tokenSpans(text)) if (tokens.has(foldCase(text.slice(start, end)))) spans.push([start, end])
  return spans
}
