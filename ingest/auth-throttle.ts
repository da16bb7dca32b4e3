import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../core/auth/keys.ts'
import { installAuthThrottle, type AuthFailureThrottle } from '../core/http/auth-throttle.ts'
import { INGEST_PROBLEMS } from './errors.ts'
import { validWriteKey } from './rate-limit.ts'

/**
 * Every POST authenticates (a write key, or a provider's signature); its 401s are charged to the
 * client's address. Write keys are public, so a valid one passes even while its address is
 * refused. A preHandler, because Segment clients may put the key in the body.
 */
export function throttleIngestAuth(app: FastifyInstance, throttle: AuthFailureThrottle, keys: KeyRing): void {
  installAuthThrottle(app, {
    throttle,
    stage: 'preHandler',
    problem: INGEST_PROBLEMS.INGEST_AUTH_THROTTLED,
    presentsCredentials: (request) => request.method === 'POST',
    validCredentials: (request) => validWriteKey(request, keys) !== undefined,
  })
}
