import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../../core/auth/keys.ts'
import { ProblemError } from '../../core/http/problem.ts'
import type { QueryRunner } from '../store.ts'
import { RAW_TABLE } from '../../core/clickhouse/raw-tables.ts'
import { STREAMS, type Stream } from '../../schemas/avro/catalog.ts'
import { ERROR_RESPONSES, READ_KEY_SECURITY } from '../schemas.ts'
import { authenticateReadKey } from '../auth.ts'
import { API_PROBLEMS } from '../errors.ts'

const Query = Type.Object({
  stream: Type.Union(STREAMS.map((s) => Type.Literal(s)), { description: 'Which raw events to count.' }),
  from: Type.String({ format: 'date-time', description: 'Start of the range (inclusive), ISO 8601.' }),
  to: Type.String({ format: 'date-time', description: 'End of the range (exclusive), ISO 8601.' }),
}, { additionalProperties: false })

/** How many distinct events of a stream the project has in a time range (raw tables, deduplicated). */
export async function eventsCountRoute(app: FastifyInstance, options: { keys: KeyRing; runner: QueryRunner; database: string }): Promise<void> {
  app.get<{ Querystring: Static<typeof Query> }>('/api/v1/events/count', {
    schema: {
      summary: 'Distinct events of a stream in a time range', tags: ['health'], security: READ_KEY_SECURITY, querystring: Query,
      response: { 200: Type.Object({ stream: Type.String(), from: Type.String(), to: Type.String(), count: Type.Integer() }), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const projectId = authenticateReadKey(request, options.keys)
    const { stream, from, to } = request.query
    const fromMs = Date.parse(from)
    const toMs = Date.parse(to)
    if (!(fromMs < toMs)) throw new ProblemError(API_PROBLEMS.API_INVALID_REQUEST, 'from must be before to', [{ field: 'querystring/to', reason: 'must be after from' }])
    const table = `${options.database}.${RAW_TABLE[stream as Stream]}`
    // Through the runner, so a refused value is a 400 and only an outage a 503, as everywhere.
    const [row] = await options.runner.rows<{ count: string | number }>({
      query: `SELECT count() AS count FROM ${table} FINAL
              WHERE project_id = {project:String} AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})`,
      params: { project: projectId, from: fromMs, to: toMs },
    }, request.log)
    return { stream, from, to, count: Number(row?.count ?? 0) }
  })
}
