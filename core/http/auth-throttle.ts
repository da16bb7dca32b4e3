/**
 * Slows key guessing: failed authentications are charged to the client's address in a token
 * bucket (the RateLimiter port, so in Redis when REDIS_URL is set and every instance shares it).
 * Once an address has spent its budget it is refused with 429 and Retry-After until a token is
 * back, before its key is looked at.
 *
 * Successful requests never touch the shared store: each instance mirrors the "refused until"
 * verdicts it has seen in memory, so a valid key costs one map lookup. An address guessing across
 * several instances is caught by each on its first failure there after the budget ran out.
 */
import type { BlockList } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import ipaddr from 'ipaddr.js'
import type { Logger } from '../logging/logger.ts'
import { createMemoryRateLimiter } from '../rate-limit/memory.ts'
import { RateLimitUnavailableError, type RateLimiter } from '../rate-limit/port.ts'
import { clientAddress } from './client-address.ts'
import { noteProblem, PROBLEM_CONTENT_TYPE, ProblemError, type Problem, type ProblemDefinition } from './problem.ts'

/** The rate limit tier failed authentications are charged to (EDDY_AUTH_FAILURE_*). */
export const AUTH_FAILURE_TIER = 'authFailures'

/** Addresses whose verdict is kept in memory at most; the oldest are forgotten first. */
const MAX_REFUSED = 100_000

/**
 * Whom a failure is charged to: an IPv4 address, or the /64 of an IPv6 one. A host is routinely
 * given a whole /64, so per-address buckets would let it rotate through 2^64 fresh budgets.
 */
export function addressBucket(address: string): string {
  if (!ipaddr.isValid(address)) return address
  const parsed = ipaddr.process(address)
  if (parsed.kind() === 'ipv4') return parsed.toString()
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16))
  return `${parts.join(':')}::/64`
}

export interface AuthFailureThrottleOptions {
  /** Holds the AUTH_FAILURE_TIER: capacity is the burst of failures, refill the sustained rate. */
  readonly limiter: RateLimiter
  /** Proxies whose X-Forwarded-For names the client (EDDY_TRUSTED_PROXIES). */
  readonly trustedProxies?: BlockList
  readonly logger?: Logger
  readonly now?: () => number
}

export class AuthFailureThrottle {
  /** Address bucket → when it may try again (ms). */
  private readonly refusedUntil = new Map<string, number>()
  private local: RateLimiter | undefined
  private readonly now: () => number

  constructor(private readonly options: AuthFailureThrottleOptions) {
    this.now = options.now ?? Date.now
  }

  /** The address a request's failures are charged to. */
  addressOf(request: FastifyRequest): string {
    return clientAddress(request, this.options.trustedProxies)
  }

  /** Milliseconds this address is still refused for; 0 when it may try. */
  refusedForMs(address: string): number {
    const bucket = addressBucket(address)
    const until = this.refusedUntil.get(bucket)
    if (until === undefined) return 0
    const left = until - this.now()
    if (left > 0) return left
    this.refusedUntil.delete(bucket)
    return 0
  }

  /** Charges one failure to the address; resolves to how long it is now refused for (0: not yet). */
  async failed(address: string): Promise<number> {
    const bucket = addressBucket(address)
    const decision = await this.take(bucket)
    if (decision.allowed) return 0
    const retryAfterMs = Math.max(1_000, decision.retryAfterMs)
    if (!this.refusedUntil.has(bucket)) {
      this.options.logger?.warn({ address: bucket, retryAfterMs }, 'failed authentications over the limit; refusing the address for a while')
    }
    this.refusedUntil.delete(bucket)
    this.refusedUntil.set(bucket, this.now() + retryAfterMs)
    if (this.refusedUntil.size > MAX_REFUSED) this.refusedUntil.delete(this.refusedUntil.keys().next().value!)
    return retryAfterMs
  }

  private async take(bucket: string) {
    try {
      return await this.options.limiter.take(bucket, AUTH_FAILURE_TIER)
    } catch (error) {
      if (!(error instanceof RateLimitUnavailableError)) throw error
      // Redis is away: each instance keeps counting on its own, so guessing stays slow.
      this.local ??= createMemoryRateLimiter({ tiers: { [AUTH_FAILURE_TIER]: this.options.limiter.tiers[AUTH_FAILURE_TIER]! } })
      return this.local.take(bucket, AUTH_FAILURE_TIER)
    }
  }
}

export interface AuthThrottleHookOptions {
  readonly throttle: AuthFailureThrottle
  /** The 429 of the service's catalogue. */
  readonly problem: ProblemDefinition
  /** Whether the request tries to authenticate at all; only those are refused while an address is. */
  readonly presentsCredentials: (request: FastifyRequest) => boolean
  /**
   * Where keys are public (write keys ship in every web page), a refused address still passes with
   * a valid one: a guesser learns nothing it could not read, and visitors behind the same NAT as a
   * misconfigured client keep being counted. Without it, secret keys are refused too, or the one
   * answer that is not 429 would tell the guesser which guess was right.
   */
  readonly validCredentials?: (request: FastifyRequest) => boolean
  /** 'onRequest' by default; 'preHandler' where keys may be in the body. */
  readonly stage?: 'onRequest' | 'preHandler'
}

/** Refuses requests from a refused address, and charges every 401 of the scope that tried a key to its address. */
export function installAuthThrottle(app: FastifyInstance, options: AuthThrottleHookOptions): void {
  const { throttle } = options
  app.addHook(options.stage ?? 'onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!options.presentsCredentials(request)) return undefined
    const refusedMs = throttle.refusedForMs(throttle.addressOf(request))
    if (refusedMs === 0 || options.validCredentials?.(request)) return undefined
    // A refused WebSocket upgrade leaves a socket no HTTP parser owns any more (the websocket
    // plugin's own hooks, which would close it, never ran): close it once the 429 is out.
    if (request.headers.upgrade !== undefined) reply.raw.once('finish', () => request.raw.socket?.destroy())
    return refuse(reply, options.problem, refusedMs)
  })
  // onSend runs before the answer leaves: the failure past the budget is itself answered 429, and
  // a client sending one guess after another meets the verdict on its very next request.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode !== 401 || !options.presentsCredentials(request)) return payload
    const refusedMs = await throttle.failed(throttle.addressOf(request))
    if (refusedMs === 0) return payload
    const body = refusal(reply, options.problem, refusedMs)
    return JSON.stringify(body)
  })
}

function refuse(reply: FastifyReply, problem: ProblemDefinition, refusedMs: number): FastifyReply {
  return reply.send(refusal(reply, problem, refusedMs))
}

/** Sets the 429's status and headers on the reply; the problem body is the caller's to send. */
function refusal(reply: FastifyReply, problem: ProblemDefinition, refusedMs: number): Problem {
  const retryAfter = Math.ceil(refusedMs / 1000)
  const body = new ProblemError(problem, `too many failed authentications from this address; retry in ${retryAfter} s`).toProblem()
  noteProblem(reply, body.code)
  void reply.code(problem.status).removeHeader('www-authenticate').header('retry-after', String(retryAfter)).type(PROBLEM_CONTENT_TYPE)
  return body
}
