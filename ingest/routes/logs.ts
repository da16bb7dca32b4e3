import type { FastifyInstance } from 'fastify'
import { ProblemError, type FieldError } from '../../core/http/problem.ts'
import type { LogEvent } from '../../schemas/types.generated.ts'
import { BinaryBody, NdjsonBody, parseNdjson } from '../body.ts'
import { DEFAULT_MAX_NESTING_DEPTH } from '../../core/http/nesting.ts'
import { INGEST_PROBLEMS } from '../errors.ts'
import { assertShallow } from '../nesting.ts'
import { isObject } from '../normalise/fields.ts'
import { normaliseLogLine } from '../normalise/log.ts'
import { handleOtlpLogs } from '../shippers/otlp/plugin.ts'
import { authenticateShipper } from '../shippers/write-key.ts'
import type { IngestDependencies } from '../dependencies.ts'

interface Entry {
  /** Position reported to the client: NDJSON line number (1-based) or array index (0-based). */
  readonly position: number
  readonly value?: unknown
  readonly error?: string
  readonly bytes: number
}

/**
 * Logs as NDJSON or a JSON array (or one object). Unlike clickstream batches this is partial:
 * valid lines are accepted and bad lines are reported by position in a 202, because a log
 * shipper cannot split a batch, and retrying a batch with one broken line forever would stall it.
 * Only when no line is valid is the answer 400.
 *
 * The same path also takes OTLP/HTTP logs (a protobuf body, or a JSON object with
 * `resourceLogs`), so an OpenTelemetry exporter pointed at Eddy's root works; `/otlp/v1/logs`
 * is the documented path.
 */
export async function logRoutes(app: FastifyInstance, dependencies: IngestDependencies): Promise<void> {
  const { keys, publisher, config } = dependencies
  const maxNestingDepth = config.ingest.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH
  // Some shippers label NDJSON as application/json (Fluent Bit `http` with json_lines does): a
  // JSON body that does not parse as one document but does line by line is read as NDJSON.
  app.removeContentTypeParser(['application/json'])
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string
    if (text.trim() === '') return done(new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, 'the body is empty'))
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      if (/\n\s*\S/.test(text.trim())) return done(null, parseNdjson(text, maxNestingDepth))
      return done(new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, `the body is not valid JSON: ${(error as Error).message}`))
    }
    try {
      // Before toEntries measures lines with JSON.stringify, which recurses.
      assertShallow(value, maxNestingDepth)
    } catch (error) {
      return done(error as Error)
    }
    done(null, value)
  })

  app.post('/v1/logs', async (request, reply) => {
    if (request.body instanceof BinaryBody || (isObject(request.body) && Array.isArray(request.body.resourceLogs))) {
      return handleOtlpLogs(request, reply, dependencies)
    }
    const bodyKey = isObject(request.body) && typeof request.body.writeKey === 'string' ? request.body.writeKey : undefined
    const projectId = authenticateShipper(request, keys, bodyKey)
    const entries = toEntries(request.body)
    const receivedAt = dependencies.clock()
    const events: LogEvent[] = []
    const rejected: FieldError[] = []
    for (const entry of entries) {
      if (entry.error) {
        rejected.push({ event: entry.position, field: '', reason: entry.error })
      } else if (entry.bytes > config.ingest.maxEventBytes) {
        rejected.push({ event: entry.position, field: '', reason: `line is ${entry.bytes} bytes, more than the limit of ${config.ingest.maxEventBytes}` })
      } else {
        const result = normaliseLogLine(entry.value, entry.position, { projectId, receivedAt, bounds: dependencies.timeBounds })
        if (result.ok) events.push(result.event)
        else rejected.push(...result.errors)
      }
    }
    if (events.length === 0) {
      throw new ProblemError(INGEST_PROBLEMS.INGEST_INVALID_EVENTS, entries.length === 0 ? 'the body holds no log lines' : 'no log line is valid; nothing was accepted', rejected)
    }
    await publisher.publish('log', events)
    if (rejected.length > 0) dependencies.refusedLines?.(new Set(rejected.map((error) => error.event)).size)
    return reply.code(202).send({ accepted: events.length, rejected })
  })
}

function toEntries(body: unknown): Entry[] {
  if (body instanceof NdjsonBody) {
    return body.lines.map((line) => ({ position: line.line, value: line.value, error: line.error, bytes: line.bytes }))
  }
  const items = Array.isArray(body) ? body : isObject(body) && Array.isArray(body.logs) ? body.logs : [withoutWriteKey(body)]
  return items.map((value: unknown, position: number) => ({
    position,
    value,
    // Sizes of array items are only measured when they could matter (see oversizedEvents).
    bytes: typeof value === 'object' && value !== null ? Buffer.byteLength(JSON.stringify(value)) : 0,
  }))
}

/** A single-line body may carry the write key beside the line's fields: it is a credential, not an attribute. */
function withoutWriteKey(body: unknown): unknown {
  if (!isObject(body) || !('writeKey' in body)) return body
  const { writeKey: _writeKey, ...line } = body
  return line
}
