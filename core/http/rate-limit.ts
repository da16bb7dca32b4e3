/**
 * Rate limits for fastify routes, with headers from draft-ietf-httpapi-ratelimit-headers-06 (the
 * last draft with separate RateLimit-Limit / -Remaining / -Reset fields, as express-rate-limit's
 * 'draft-6' mode sends them; drafts 07+ fold them into one structured field). A token bucket maps
 * onto it as: limit = capacity, remaining = whole tokens left, reset = seconds until the bucket is
 * full, policy = `<capacity>;w=<seconds to refill an empty bucket>`.
 */
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createMemoryRateLimiter } from '../rate-limit/memory.ts'
import { RateLimitUnavailableError, type RateLimitDecision, type RateLimiter, type TierLimit } from '../rate-limit/port.ts'
import { noteProblem, PROBLEM_CONTENT_TYPE, ProblemError, type ProblemDefinition } from './problem.ts'

/**
 * What a request gets while the shared store is unreachable:
 * - 'open': no limit (ingest: refusing events loses data; a burst only costs capacity);
 * - 'local': buckets in this process with the same tiers (api: queries stay bounded per instance
 *   while the api keeps answering);
 * - 'closed': 503 with Retry-After (for endpoints where exceeding the limit is unsafe).
 */
export type RateLimitFailurePolicy = 'open' | 'local' | 'closed'

export interface RateLimitTarget {
  readonly key: string
  readonly tier: string
  readonly cost?: number
}

export interface RateLimitHookOptions {
  readonly limiter: RateLimiter
  /** Whom the request is charged to; undefined lets it through (no credentials: auth answers it). */
  readonly target: (request: FastifyRequest) => RateLimitTarget | undefined
  readonly onUnavailable: RateLimitFailurePolicy
  /** From the service's catalogue: 429 when limited, 503 when failing closed. */
  readonly problems: { readonly rateLimited: ProblemDefinition; readonly unavailable: ProblemDefinition }
  /** Retry-After of a fail-closed 503, seconds. */
  readonly unavailableRetryAfterSeconds?: number
}

export interface RateLimitStats {
  /** Requests refused with 429. */
  readonly limited: number
  /** Requests the shared store could not answer; the failure policy answered them. */
  readonly unavailable: number
}

export interface RateLimitHook {
  (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>
  stats(): RateLimitStats
}

export function createRateLimitHook(options: RateLimitHookOptions): RateLimitHook {
  const { limiter, problems } = options
  let local: RateLimiter | undefined
  let limited = 0
  let unavailable = 0

  async function decide(target: RateLimitTarget): Promise<RateLimitDecision | undefined> {
    try {
      return await limiter.take(target.key, target.tier, target.cost)
    } catch (error) {
      if (!(error instanceof RateLimitUnavailableError)) throw error
      unavailable++
      if (options.onUnavailable === 'open') return undefined
      if (options.onUnavailable === 'closed') throw new ProblemError(problems.unavailable, 'rate limits cannot be checked right now', undefined, { 'retry-after': String(options.unavailableRetryAfterSeconds ?? 1) })
      local ??= createMemoryRateLimiter({ tiers: limiter.tiers })
      return local.take(target.key, target.tier, target.cost)
    }
  }

  const hook = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const target = options.target(request)
    if (target === undefined) return undefined
    let decision: RateLimitDecision | undefined
    try {
      decision = await decide(target)
    } catch (error) {
      if (error instanceof ProblemError) return sendProblem(reply, error)
      throw error
    }
    if (decision === undefined) return undefined
    void reply.headers(rateLimitHeaders(decision, limiter.tiers[target.tier]!))
    if (decision.allowed) return undefined
    limited++
    const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
    return sendProblem(reply, new ProblemError(problems.rateLimited, `rate limit of tier ${target.tier} exceeded; retry in ${retryAfter} s`, undefined, { 'retry-after': String(retryAfter) }))
  }
  return Object.assign(hook, { stats: (): RateLimitStats => ({ limited, unavailable }) })
}

/**
 * Adds the hook to every route of `app` (and its children registered afterwards). 'onRequest'
 * refuses before the body is read, the cheapest place; use 'preHandler' when the key is in the body.
 */
export function installRateLimit(app: FastifyInstance, options: RateLimitHookOptions & { readonly stage?: 'onRequest' | 'preHandler' }): RateLimitHook {
  const hook = createRateLimitHook(options)
  app.addHook(options.stage ?? 'onRequest', hook)
  return hook
}

export function rateLimitHeaders(decision: RateLimitDecision, tier: TierLimit): Record<string, string> {
  return {
    'ratelimit-limit': String(decision.limit),
    'ratelimit-remaining': String(decision.remaining),
    'ratelimit-reset': String(Math.ceil(decision.resetMs / 1000)),
    'ratelimit-policy': `${tier.capacity};w=${Math.max(1, Math.ceil(tier.capacity / tier.refillPerSecond))}`,
  }
}

/** A stable, non-reversible bucket key for a secret (read keys must not appear in Redis key names). */
export function rateLimitKey(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url').slice(0, 22)
}

function sendProblem(reply: FastifyReply, problem: ProblemError): FastifyReply {
  const body = problem.toProblem()
  noteProblem(reply, body.code)
  return reply.code(body.status).headers(problem.headers).type(PROBLEM_CONTENT_TYPE).send(body)
}
