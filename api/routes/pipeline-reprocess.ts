import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { bearerToken, type KeyRing } from '../../core/auth/keys.ts'
import { ProblemError } from '../../core/http/problem.ts'
import { RunInProgress, type OperatorRun, type OperatorRuns } from '../../processors/reprocess/operator-runs.ts'
import { STREAMS } from '../../schemas/avro/catalog.ts'
import { API_PROBLEMS, invalidInput } from '../errors.ts'

export interface PipelineReprocessRouteOptions {
  readonly keys: KeyRing
  readonly runs: OperatorRuns
}

export const ReprocessBody = Type.Object({
  fromMs: Type.Integer({ minimum: 0, description: 'Start of the range, epoch ms (widened to whole windows).' }),
  toMs: Type.Integer({ minimum: 0, description: 'End of the range (exclusive), epoch ms.' }),
  stream: Type.Optional(Type.Union(STREAMS.map((stream) => Type.Literal(stream)), { description: 'One stream; every stream when absent.' })),
  writeKey: Type.Optional(Type.String({ minLength: 1, description: 'Only the project of this write key; every project when absent. The project comes from a key, never from a name.' })),
}, { additionalProperties: false })

export const ReprocessRunAnswer = Type.Object({
  id: Type.String(),
  state: Type.Union([Type.Literal('running'), Type.Literal('finished'), Type.Literal('failed')]),
  request: Type.Object({ fromMs: Type.Number(), toMs: Type.Number(), stream: Type.Optional(Type.String()), projectId: Type.Optional(Type.String()) }),
  startedAtMs: Type.Number(),
  finishedAtMs: Type.Optional(Type.Number()),
  progress: Type.Optional(Type.Record(Type.String(), Type.Any(), { description: 'The stream being recomputed: slices, events of eventsTotal, rows, elapsedMs.' })),
  summary: Type.Optional(Type.Record(Type.String(), Type.Any(), { description: 'Per stream: events, slices, rows written, rows cancelled, rows left to the live jobs.' })),
  error: Type.Optional(Type.String()),
}, { title: 'ReprocessRun' })

/**
 * A reprocess run by this process (`eddy reprocess` while `eddy start` holds the embedded log and
 * chDB): started with POST, followed with GET. An operator key only: it rewrites every
 * project's aggregates of the range.
 */
export async function pipelineReprocessRoute(app: FastifyInstance, options: PipelineReprocessRouteOptions): Promise<void> {
  const requireOperator = (request: FastifyRequest) => {
    if (!options.keys.isOperator(bearerToken(request.headers.authorization))) {
      throw new ProblemError(API_PROBLEMS.API_OPERATOR_KEY_REQUIRED, 'send Authorization: Bearer <operator key>', undefined, { 'www-authenticate': 'Bearer' })
    }
  }

  app.post<{ Body: Static<typeof ReprocessBody> }>('/api/v1/pipeline/reprocess', {
    schema: { body: ReprocessBody, response: { 202: ReprocessRunAnswer } },
    onRequest: async (request) => requireOperator(request),
  }, async (request, reply) => {
    const { fromMs, toMs, stream, writeKey } = request.body
    if (toMs <= fromMs) throw invalidInput('body/toMs', 'must be after fromMs')
    let projectId: string | undefined
    if (writeKey !== undefined) {
      projectId = options.keys.projectFor(writeKey, 'write')
      if (projectId === undefined) throw invalidInput('body/writeKey', 'is the write key of no project')
    }
    try {
      const run = options.runs.start({ fromMs, toMs, ...(stream ? { stream } : {}), ...(projectId ? { projectId } : {}) })
      return reply.code(202).header('location', `/api/v1/pipeline/reprocess/${run.id}`).send(answer(run))
    } catch (error) {
      if (error instanceof RunInProgress) throw new ProblemError(API_PROBLEMS.API_REPROCESS_RUNNING, `reprocess ${error.running.id} of ${new Date(error.running.request.fromMs).toISOString()} to ${new Date(error.running.request.toMs).toISOString()} is running`)
      throw error
    }
  })

  app.get<{ Params: { id: string } }>('/api/v1/pipeline/reprocess/:id', {
    schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 200: ReprocessRunAnswer } },
    onRequest: async (request) => requireOperator(request),
  }, async (request) => {
    const run = options.runs.get(request.params.id)
    if (run === undefined) throw new ProblemError(API_PROBLEMS.API_REPROCESS_NOT_FOUND, `no reprocess ${request.params.id} in this process`)
    return answer(run)
  })
}

function answer(run: OperatorRun): Static<typeof ReprocessRunAnswer> {
  return {
    id: run.id,
    state: run.state,
    request: run.request,
    startedAtMs: run.startedAtMs,
    ...(run.finishedAtMs !== undefined ? { finishedAtMs: run.finishedAtMs } : {}),
    ...(run.progress ? { progress: { ...run.progress } } : {}),
    ...(run.summary ? { summary: { ...run.summary } } : {}),
    ...(run.error !== undefined ? { error: run.error } : {}),
  }
}
