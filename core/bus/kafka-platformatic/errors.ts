/**
 * @platformatic/kafka errors mapped to the port's BusError. Its errors nest (MultipleErrors after
 * retries, ResponseError holding one ProtocolError per failed partition), so the whole tree is
 * searched: a broker that cannot be reached is worth retrying later, a record or topic the broker
 * refuses is not.
 */
import { BusError } from '../port.ts'
import { REFUSED } from '../kafka/errors.ts'

type Code = BusError['code']

interface PlatformaticErrorLike {
  readonly message?: string
  readonly code?: string
  /** ProtocolError: the broker's error name, e.g. 'NOT_LEADER_OR_FOLLOWER'. */
  readonly apiId?: string
  readonly errno?: string
  readonly cause?: unknown
  readonly errors?: readonly unknown[]
}

function flatten(error: unknown, found: PlatformaticErrorLike[] = []): PlatformaticErrorLike[] {
  if (error === null || typeof error !== 'object' || found.length >= 50) return found
  const candidate = error as PlatformaticErrorLike
  found.push(candidate)
  for (const inner of candidate.errors ?? []) flatten(inner, found)
  if (candidate.cause !== undefined) flatten(candidate.cause, found)
  return found
}

const UNREACHABLE_CODES = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'])

/**
 * @param fallback the code when nothing more specific is known: NOT_DURABLE for produce (the
 *   records may not be stored), UNAVAILABLE for everything else.
 */
export function toBusError(error: unknown, what: string, fallback: Code = 'UNAVAILABLE'): BusError {
  if (error instanceof BusError) return error
  const causes = flatten(error)
  const detail = causes.map((cause) => cause.message).filter(Boolean).at(-1) ?? String(error)
  const message = `${what}: ${detail}`
  // Metadata answers an unknown topic with a UserError of its own rather than the broker's code.
  if (causes.some((cause) => cause.apiId === 'UNKNOWN_TOPIC_OR_PARTITION' || (cause.code === 'PLT_KFK_USER' && /^Unknown topic/.test(cause.message ?? '')))) {
    return new BusError(message, false, 'UNKNOWN_TOPIC', { cause: error })
  }
  if (causes.some((cause) => cause.apiId !== undefined && REFUSED.has(cause.apiId))) {
    return new BusError(message, false, 'INVALID', { cause: error })
  }
  // A request this client refuses to build (bad options, a codec it lacks) fails the same way again.
  if (causes.some((cause) => cause.code === 'PLT_KFK_USER' || cause.code === 'PLT_KFK_UNSUPPORTED_COMPRESSION')) {
    return new BusError(message, false, 'INVALID', { cause: error })
  }
  if (causes.some((cause) => UNREACHABLE_CODES.has(cause.code ?? '') || UNREACHABLE_CODES.has(cause.errno ?? ''))) {
    return new BusError(message, true, 'UNAVAILABLE', { cause: error })
  }
  // Anything else (leader moving, sequence trouble, retries used up) is a state of the cluster that passes.
  return new BusError(message, true, fallback, { cause: error })
}
