import type { FastifyInstance } from 'fastify'
import { ProblemError, type FieldError } from '../../core/http/problem.ts'
import type { ClickEvent } from '../../schemas/types.generated.ts'
import { INGEST_PROBLEMS } from '../errors.ts'
import { isObject, type Json } from '../normalise/fields.ts'
import { normaliseSegmentCall, type RequestContext } from '../normalise/segment.ts'
import { readTime } from '../normalise/time.ts'
import { authenticateWriteKey, bodyBytes, oversizedEvents } from '../request-context.ts'
import type { IngestDependencies } from '../app.ts'

const SINGLE_CALLS = ['track', 'page', 'screen', 'identify'] as const

/**
 * Segment-compatible clickstream endpoints. A batch is all-or-nothing: if any event is invalid the
 * answer is 400 naming every bad event and field, and nothing is written — so a client can fix
 * and resend the batch without creating duplicates or gaps.
 */
export async function segmentRoutes(app: FastifyInstance, dependencies: IngestDependencies): Promise<void> {
  const { keys, publisher, config } = dependencies

  const contextFor = (projectId: string, headers: Record<string, string | string[] | undefined>, sentAt: unknown): RequestContext => {
    const parsedSentAt = readTime(sentAt)
    return {
      projectId,
      receivedAt: dependencies.clock(),
      sentAt: parsedSentAt !== undefined && !Number.isNaN(parsedSentAt) ? parsedSentAt : undefined,
      userAgent: typeof headers['user-agent'] === 'string' ? headers['user-agent'] : '',
      country: null,
      bounds: dependencies.timeBounds,
      userAgents: dependencies.userAgents,
    }
  }

  const accept = async (messages: readonly unknown[], context: RequestContext, bytes: number, single?: (typeof SINGLE_CALLS)[number]) => {
    const pointer = (index: number) => (single ? '' : `/batch/${index}`)
    const tooLarge = oversizedEvents(messages, bytes, config.ingest.maxEventBytes, pointer)
    if (tooLarge.length > 0) throw new ProblemError(INGEST_PROBLEMS.INGEST_EVENT_TOO_LARGE, `${tooLarge.length} event(s) exceed ${config.ingest.maxEventBytes} bytes; nothing was accepted`, tooLarge)
    const events: ClickEvent[] = []
    const errors: FieldError[] = []
    for (let index = 0; index < messages.length; index++) {
      const result = normaliseSegmentCall(messages[index], index, context, single)
      if (result.ok) events.push(result.event)
      else errors.push(...result.errors)
    }
    if (errors.length > 0) {
      throw new ProblemError(INGEST_PROBLEMS.INGEST_INVALID_EVENTS, `${new Set(errors.map((e) => e.event)).size} of ${messages.length} event(s) are invalid; nothing was accepted`, errors)
    }
    await publisher.publish('click', events)
    return events.length
  }

  app.post('/v1/batch', async (request, reply) => {
    const projectId = authenticateWriteKey(request, keys)
    const body = request.body
    if (!isObject(body) || !Array.isArray(body.batch)) {
      throw new ProblemError(INGEST_PROBLEMS.INGEST_INVALID_EVENTS, 'expected {"batch": [...]}', [{ field: '/batch', reason: 'must be an array of Segment calls' }])
    }
    const shared = isObject(body.context) ? body.context : undefined
    const messages = shared ? body.batch.map((m: unknown) => (isObject(m) && !m.context ? { ...m, context: shared } : m)) : body.batch
    const accepted = await accept(messages, contextFor(projectId, request.headers, body.sentAt), bodyBytes(request))
    return reply.code(202).send({ success: true, accepted })
  })

  for (const call of SINGLE_CALLS) {
    app.post(`/v1/${call}`, async (request, reply) => {
      const projectId = authenticateWriteKey(request, keys)
      const body = request.body as Json
      const accepted = await accept([body], contextFor(projectId, request.headers, isObject(body) ? body.sentAt : undefined), bodyBytes(request), call)
      return reply.code(202).send({ success: true, accepted })
    })
  }
}
