import type { FastifyInstance } from 'fastify'
import { DEFAULT_MAX_NESTING_DEPTH } from '../../../core/http/nesting.ts'
import { ProblemError } from '../../../core/http/problem.ts'
import { decodeTooDeep } from '../../nesting.ts'
import { BinaryBody, decodeSnappy } from '../../body.ts'
import { INGEST_PROBLEMS } from '../../errors.ts'
import type { IngestDependencies } from '../../dependencies.ts'
import { normaliseShipped } from '../accept.ts'
import { decodeToObject, shipperTypes } from '../proto.ts'
import { authenticateShipper } from '../write-key.ts'
import { lokiJsonStreams, lokiProtobufStreams, lokiToLines, type LokiStream } from './mapping.ts'

export const LOKI_PUSH_PATH = '/loki/api/v1/push'

/**
 * Loki's push API, so Promtail, Grafana Alloy (`loki.write`) and other Loki clients work with only
 * their URL changed: snappy-compressed protobuf (their default) or JSON (optionally gzip). 204 when
 * every entry was stored, as Loki answers; 202 with the rejected entries when only some were (Loki
 * clients treat any 2xx as done and so do not resend the good ones); 400 when none was valid.
 */
export async function lokiRoutes(app: FastifyInstance, dependencies: IngestDependencies): Promise<void> {
  const { config, publisher } = dependencies
  app.post(LOKI_PUSH_PATH, async (request, reply) => {
    const projectId = authenticateShipper(request, dependencies.keys)
    let streams: LokiStream[]
    if (request.body instanceof BinaryBody) {
      // gzip/deflate were undone by the body hook and leave plain protobuf; otherwise it is snappy.
      const raw = /gzip|deflate/i.test(String(request.headers['content-encoding'] ?? '')) ? request.body.bytes : decodeSnappy(request.body.bytes, config.ingest.maxRequestBytes)
      const maxNestingDepth = config.ingest.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH
      try {
        streams = lokiProtobufStreams(decodeToObject(shipperTypes().lokiPushRequest, raw))
      } catch (error) {
        // PushRequest does not recurse, but unknown fields may be groups nested to any depth.
        throw decodeTooDeep(error, maxNestingDepth) ?? new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, `the body is not a Loki PushRequest: ${(error as Error).message}`)
      }
    } else {
      streams = lokiJsonStreams(request.body)
    }
    const lines = lokiToLines(streams)
    const batch = normaliseShipped(lines, { projectId, receivedAt: dependencies.clock(), bounds: dependencies.timeBounds }, config.ingest.maxEventBytes)
    if (batch.events.length === 0 && lines.length > 0) {
      throw new ProblemError(INGEST_PROBLEMS.INGEST_INVALID_EVENTS, 'no entry is valid; nothing was accepted', batch.rejected)
    }
    await publisher.publish('log', batch.events)
    if (batch.events.length < lines.length) dependencies.refusedLines?.(lines.length - batch.events.length)
    if (batch.rejected.length === 0) return reply.code(204).send()
    return reply.code(202).send({ accepted: batch.events.length, rejected: batch.rejected })
  })
}
