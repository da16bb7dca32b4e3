import type { FastifyInstance } from 'fastify'
import { bearerToken, type KeyRing } from '../core/auth/keys.ts'
import { installRateLimit, rateLimitKey, type RateLimitHook } from '../core/http/rate-limit.ts'
import type { RateLimiter } from '../core/rate-limit/port.ts'
import { API_PROBLEMS } from './errors.ts'

export const API_TIER = 'api'

/**
 * Charges each api request (a WebSocket connection counts once, at its upgrade) to its read key,
 * by fingerprint: read keys are secrets and must not appear in Redis key names. Requests without
 * a read key pass through to authentication. While the store is down each instance limits on its
 * own ('local'): the api keeps answering, and ClickHouse stays protected.
 */
export function installApiRateLimit(app: FastifyInstance, limiter: RateLimiter, keys: KeyRing): RateLimitHook {
  return installRateLimit(app, {
    limiter,
    onUnavailable: 'local',
    target: (request) => {
      const query = request.query as Record<string, unknown> | undefined
      const key = bearerToken(request.headers.authorization) ?? (typeof query?.key === 'string' ? query.key : undefined)
      return key !== undefined && keys.projectFor(key, 'read') !== undefined ? { key: rateLimitKey(key), tier: API_TIER } : undefined
    },
    problems: { rateLimited: API_PROBLEMS.API_RATE_LIMITED, unavailable: API_PROBLEMS.API_RATE_LIMIT_UNAVAILABLE },
  })
}
