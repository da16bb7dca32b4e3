import type { BlockList } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ProblemError, type FieldError } from '../../core/http/problem.ts'
import type { ClickEvent } from '../../schemas/types.generated.ts'
import { INGEST_PROBLEMS } from '../errors.ts'
import { isObject, type Json } from '../normalise/fields.ts'
import { normaliseSegmentCall, type RequestContext } from '../normalise/segment.ts'
import { readTime } from '../normalise/time.ts'
import { referrerDomain } from '../normalise/url.ts'
import { authenticateWriteKey, bodyBytes, clientAddress, oversizedEvents, trustedProxies } from '../request-context.ts'
import { visitorHasher, type VisitorHasher } from '../snippet/visitor-hash.ts'
import type { IngestDependencies } from '../dependencies.ts'

/** The single-call endpoints, `/v1/<call>`, beside `/v1/batch`. */
export const SINGLE_CALLS = ['track', 'page', 'screen', 'identify'] as const

/**
 * Ingest settings for browsers (config.ingest; EDDY_TRUSTED_PROXIES, EDDY_VISITOR_SECRET).
 * Optional so these routes run before the configuration carries them: absent means no proxy is
 * trusted and the cookieless salt is random per process.
 */
export interface BrowserSettings {
  /** IPs and CIDRs whose X-Forwarded-For gives the client address. */
  readonly trustedProxies?: readonly string[]
  /** Derives the daily cookieless salt, so that every ingest instance agrees on it. */
  readonly visitorSecret?: string
}

/**
 * Browsers post from other origins (the page's), so every collect route answers CORS: any
 * origin, never credentials (write keys are public and the snippet sends no cookies), and
 * Retry-After readable so the snippet can honour it.
 */
const CORS = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'retry-after' } as const
const PREFLIGHT = {
  ...CORS,
  'access-control-allow-methods': 'POST',
  'access-control-allow-headers': 'authorization, content-type, content-encoding',
  'access-control-max-age': '86400',
} as const

/**
 * Segment-compatible clickstream endpoints. A batch is all-or-nothing: if any event is invalid the
 * answer is 400 naming every bad event and field, and nothing is written — so a client can fix
 * and resend the batch without creating duplicates or gaps.
 */
export async function segmentRoutes(app: FastifyInstance, dependencies: IngestDependencies): Promise<void> {
  const handlers = segmentHandlers(dependencies)
  allowCrossOrigin(app)
  collectRoute(app, '/v1/batch', handlers.batch)
  for (const call of SINGLE_CALLS) collectRoute(app, `/v1/${call}`, handlers.single(call))
}

/** CORS headers on every answer of this scope's routes, errors included. */
export function allowCrossOrigin(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.headers(CORS)
    return payload
  })
}

/** A POST collect route and its CORS preflight. */
export function collectRoute(app: FastifyInstance, path: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void {
  app.post(path, handler)
  app.options(path, async (_request, reply) => reply.code(204).headers(PREFLIGHT).send())
}

/** The handlers behind the collect routes, shared with the snippet's first-party alias. */
export function segmentHandlers(dependencies: IngestDependencies) {
  const { keys, publisher, config } = dependencies
  const settings = config.ingest as typeof config.ingest & BrowserSettings
  const proxies: BlockList | undefined = settings.trustedProxies?.length ? trustedProxies(settings.trustedProxies) : undefined
  const visitors: VisitorHasher = visitorHasher(settings.visitorSecret)

  const contextFor = (projectId: string, request: FastifyRequest, sentAt: unknown): RequestContext => {
    const parsedSentAt = readTime(sentAt)
    const receivedAt = dependencies.clock()
    const userAgent = typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : ''
    let address: string | undefined
    return {
      projectId,
      receivedAt,
      sentAt: parsedSentAt !== undefined && !Number.isNaN(parsedSentAt) ? parsedSentAt : undefined,
      userAgent,
      country: null,
      bounds: dependencies.timeBounds,
      userAgents: dependencies.userAgents,
      // Events without a page URL hash under the site that sent them (Origin, else Referer).
      visitor: (site) => visitors.hash(receivedAt, projectId, site || referrerDomain(pageOrigin(request)), (address ??= clientAddress(request, proxies)), userAgent),
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

  return {
    async batch(request: FastifyRequest, reply: FastifyReply) {
      const projectId = authenticateWriteKey(request, keys)
      const body = request.body
      if (!isObject(body) || !Array.isArray(body.batch)) {
        throw new ProblemError(INGEST_PROBLEMS.INGEST_INVALID_EVENTS, 'expected {"batch": [...]}', [{ field: '/batch', reason: 'must be an array of Segment calls' }])
      }
      const shared = isObject(body.context) ? body.context : undefined
      const messages = shared ? body.batch.map((m: unknown) => (isObject(m) && !m.context ? { ...m, context: shared } : m)) : body.batch
      const accepted = await accept(messages, contextFor(projectId, request, body.sentAt), bodyBytes(request))
      return reply.code(202).send({ success: true, accepted })
    },
    single(call: (typeof SINGLE_CALLS)[number]) {
      return async (request: FastifyRequest, reply: FastifyReply) => {
        const projectId = authenticateWriteKey(request, keys)
        const body = request.body as Json
        const accepted = await accept([body], contextFor(projectId, request, isObject(body) ? body.sentAt : undefined), bodyBytes(request), call)
        return reply.code(202).send({ success: true, accepted })
      }
    },
  }
}

function pageOrigin(request: FastifyRequest): string {
  const { origin, referer } = request.headers
  return typeof origin === 'string' && origin !== 'null' ? origin : typeof referer === 'string' ? referer : ''
}
