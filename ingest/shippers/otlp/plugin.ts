import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DEFAULT_MAX_NESTING_DEPTH } from '../../../core/http/nesting.ts'
import { ProblemError } from '../../../core/http/problem.ts'
import { assertShallow, decodeTooDeep } from '../../nesting.ts'
import { BinaryBody, NdjsonBody } from '../../body.ts'
import { INGEST_PROBLEMS } from '../../errors.ts'
import { isObject } from '../../normalise/fields.ts'
import type { IngestDependencies } from '../../dependencies.ts'
import { normaliseShipped, summarise, type ShippedLine } from '../accept.ts'
import { decodeToObject, shipperTypes } from '../proto.ts'
import { authenticateShipper } from '../write-key.ts'
import { otlpToLines } from './mapping.ts'

/** Where the OpenTelemetry Collector's `otlphttp` exporter posts with `endpoint: http://eddy:8080/otlp`. */
export const OTLP_LOGS_PATH = '/otlp/v1/logs'

/**
 * OTLP/HTTP logs, protobuf (the Collector's default, usually gzip) or JSON. 200 with an
 * ExportLogsServiceResponse in the request's encoding; records that cannot be stored are counted
 * in `partial_success` and the rest are kept (so the exporter does not retry them); 400 when none
 * is valid; 503 + Retry-After, which the Collector retries, when the log cannot acknowledge.
 */
export async function otlpRoutes(app: FastifyInstance, dependencies: IngestDependencies): Promise<void> {
  app.post(OTLP_LOGS_PATH, async (request, reply) => handleOtlpLogs(request, reply, dependencies))
}

/** Also reached from `POST /v1/logs` for protobuf bodies and JSON bodies holding `resourceLogs`. */
export async function handleOtlpLogs(request: FastifyRequest, reply: FastifyReply, dependencies: IngestDependencies): Promise<FastifyReply> {
  const projectId = authenticateShipper(request, dependencies.keys)
  const types = shipperTypes()
  const maxNestingDepth = dependencies.config.ingest.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH
  const binary = request.body instanceof BinaryBody
  let lines: ShippedLine[]
  if (request.body instanceof BinaryBody) {
    let decoded: Record<string, unknown>
    try {
      decoded = decodeToObject(types.otlpLogsRequest, request.body.bytes)
    } catch (error) {
      throw decodeTooDeep(error, maxNestingDepth) ?? new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, `the body is not an OTLP ExportLogsServiceRequest: ${(error as Error).message}`)
    }
    // The same limit as OTLP/JSON (checked by the body parser), before anyValue recurses.
    assertShallow(decoded, maxNestingDepth)
    lines = otlpToLines(decoded)
  } else if (isObject(request.body) && !(request.body instanceof NdjsonBody)) {
    if (request.body.resourceLogs !== undefined && !Array.isArray(request.body.resourceLogs)) {
      throw new ProblemError(INGEST_PROBLEMS.INGEST_INVALID_EVENTS, 'resourceLogs must be an array', [{ field: '/resourceLogs', reason: 'must be an array' }])
    }
    lines = otlpToLines(request.body)
  } else {
    throw new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, 'the body must be one OTLP ExportLogsServiceRequest (JSON object or protobuf)')
  }
  const batch = normaliseShipped(lines, { projectId, receivedAt: dependencies.clock(), bounds: dependencies.timeBounds }, dependencies.config.ingest.maxEventBytes)
  if (batch.events.length === 0 && lines.length > 0) {
    throw new ProblemError(INGEST_PROBLEMS.INGEST_INVALID_EVENTS, 'no log record is valid; nothing was accepted', batch.rejected)
  }
  await dependencies.publisher.publish('log', batch.events)
  if (batch.events.length < lines.length) dependencies.refusedLines?.(lines.length - batch.events.length)
  const partialSuccess = batch.rejected.length > 0
    ? { rejectedLogRecords: new Set(batch.rejected.map((error) => error.event)).size, errorMessage: summarise(batch.rejected) }
    : undefined
  if (binary) {
    const message = types.otlpLogsResponse.fromObject(partialSuccess ? { partialSuccess } : {})
    return reply.code(200).type('application/x-protobuf').send(Buffer.from(types.otlpLogsResponse.encode(message).finish()))
  }
  return reply.code(200).type('application/json').send(partialSuccess ? { partialSuccess: { ...partialSuccess, rejectedLogRecords: String(partialSuccess.rejectedLogRecords) } } : {})
}
