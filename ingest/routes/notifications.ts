import type { FastifyInstance } from 'fastify'
import { ProblemError, type FieldError } from '../../core/http/problem.ts'
import type { NotificationEvent } from '../../schemas/types.generated.ts'
import { INGEST_PROBLEMS } from '../errors.ts'
import { isObject } from '../normalise/fields.ts'
import { normaliseNotification } from '../normalise/notification.ts'
import { authenticateWriteKey, bodyBytes, oversizedEvents } from '../request-context.ts'
import type { IngestDependencies } from '../dependencies.ts'

/** Notification lifecycle events as a JSON array (or one object). All-or-nothing, like batches. */
export async function notificationRoutes(app: FastifyInstance, dependencies: IngestDependencies): Promise<void> {
  const { keys, publisher, config } = dependencies

  app.post('/v1/notifications', async (request, reply) => {
    const projectId = authenticateWriteKey(request, keys)
    const body = request.body
    const items: unknown[] = Array.isArray(body) ? body : isObject(body) && Array.isArray(body.notifications) ? body.notifications : [body]
    const tooLarge = oversizedEvents(items, bodyBytes(request), config.ingest.maxEventBytes, (index) => `/${index}`)
    if (tooLarge.length > 0) throw new ProblemError(INGEST_PROBLEMS.INGEST_EVENT_TOO_LARGE, `${tooLarge.length} event(s) exceed ${config.ingest.maxEventBytes} bytes; nothing was accepted`, tooLarge)
    const receivedAt = dependencies.clock()
    const events: NotificationEvent[] = []
    const errors: FieldError[] = []
    items.forEach((item, index) => {
      const result = normaliseNotification(item, index, { projectId, receivedAt, bounds: dependencies.timeBounds })
      if (result.ok) events.push(result.event)
      else errors.push(...result.errors)
    })
    if (errors.length > 0) {
      throw new ProblemError(INGEST_PROBLEMS.INGEST_INVALID_EVENTS, `${new Set(errors.map((e) => e.event)).size} of ${items.length} event(s) are invalid; nothing was accepted`, errors)
    }
    await publisher.publish('notification', events)
    return reply.code(202).send({ accepted: events.length })
  })
}
