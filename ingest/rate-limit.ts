import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { KeyRing } from '../core/auth/keys.ts'
import { installRateLimit, type RateLimitHook, type RateLimitTarget } from '../core/http/rate-limit.ts'
import type { RateLimiter } from '../core/rate-limit/port.ts'
import { INGEST_PROBLEMS } from './errors.ts'
import { isObject } from './normalise/fields.ts'
import { writeKeyCandidates } from './shippers/write-key.ts'

export const INGEST_TIER = 'ingest'

/**
 * Charges each ingest request to its write key. It runs as a preHandler, after the body is parsed,
 * because Segment clients may put the key in the body. Only keys of a project are charged: an
 * unknown key is answered 401 by the route and must not create buckets in Redis.
 */
export function ingestRateLimitTarget(keys: KeyRing): (request: FastifyRequest) => RateLimitTarget | undefined {
  return (request) => {
    // Only requests that carry events cost tokens: the snippet, CORS preflights, health checks
    // and the OpenAPI document are GET/HEAD/OPTIONS, served to anyone, and must not drain a
    // site's budget (a page load fetches eddy.js with the site's key in the URL).
    if (request.method !== 'POST') return undefined
    const key = validWriteKey(request, keys)
    return key === undefined ? undefined : { key, tier: INGEST_TIER }
  }
}

/** The first write key of a project the request carries (header, query or Segment's body field). */
export function validWriteKey(request: FastifyRequest, keys: KeyRing): string | undefined {
  const candidates = writeKeyCandidates(request)
  if (isObject(request.body) && typeof request.body.writeKey === 'string') candidates.push(request.body.writeKey)
  return candidates.find((candidate) => keys.projectFor(candidate, 'write') !== undefined)
}

/**
 * Fails open while the store is down: refusing events loses data the sender may never resend,
 * and the bus still answers 503 when it cannot keep up (docs/redis.md, Failure policy).
 */
export function installIngestRateLimit(app: FastifyInstance, limiter: RateLimiter, keys: KeyRing): RateLimitHook {
  return installRateLimit(app, {
    limiter,
    stage: 'preHandler',
    onUnavailable: 'open',
    target: ingestRateLimitTarget(keys),
    problems: { rateLimited: INGEST_PROBLEMS.INGEST_RATE_LIMITED, unavailable: INGEST_PROBLEMS.INGEST_RATE_LIMIT_UNAVAILABLE },
  })
}
