/**
 * kafkajs errors mapped to the port's BusError. kafkajs wraps the error that made it give up
 * (KafkaJSNumberOfRetriesExceeded → cause), so the chain is searched for the root cause: a broker
 * that cannot be reached is worth retrying later, a record or topic the broker refuses is not.
 */
import { BusError } from '../port.ts'

type Code = BusError['code']

interface KafkaErrorLike {
  readonly name?: string
  readonly type?: string
  readonly retriable?: boolean
  readonly code?: string
  readonly cause?: unknown
  readonly originalError?: unknown
  readonly errors?: readonly unknown[]
}

const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSLockTimeout',
])

/** Broker answers that name a problem with the request itself: sending it again cannot help. */
export const REFUSED: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_REQUEST',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_CONFIG',
  'POLICY_VIOLATION',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'INVALID_COMMIT_OFFSET_SIZE',
  'OFFSET_METADATA_TOO_LARGE',
])

function chain(error: unknown): KafkaErrorLike[] {
  const found: KafkaErrorLike[] = []
  let current: unknown = error
  while (current !== null && typeof current === 'object' && found.length < 10) {
    const candidate = current as KafkaErrorLike
    found.push(candidate)
    current = candidate.cause ?? candidate.originalError ?? candidate.errors?.[0]
  }
  return found
}

/**
 * @param fallback the code when nothing more specific is known: NOT_DURABLE for produce (the
 *   records may not be stored), UNAVAILABLE for everything else.
 */
export function toBusError(error: unknown, what: string, fallback: Code = 'UNAVAILABLE'): BusError {
  if (error instanceof BusError) return error
  const causes = chain(error)
  const message = `${what}: ${causes.map((cause) => (cause as Error).message).filter(Boolean).at(-1) ?? String(error)}`
  if (causes.some((cause) => cause.type === 'UNKNOWN_TOPIC_OR_PARTITION')) {
    return new BusError(message, false, 'UNKNOWN_TOPIC', { cause: error })
  }
  if (causes.some((cause) => cause.type !== undefined && REFUSED.has(cause.type))) {
    return new BusError(message, false, 'INVALID', { cause: error })
  }
  if (causes.some((cause) => cause.name === 'KafkaJSNonRetriableError' && cause.cause === undefined)) {
    return new BusError(message, false, 'INVALID', { cause: error })
  }
  if (causes.some((cause) => UNREACHABLE.has(cause.name ?? '') || cause.code === 'ECONNREFUSED')) {
    return new BusError(message, true, 'UNAVAILABLE', { cause: error })
  }
  // Anything else (leader moving, coordinator loading, rebalance in progress, retries used up) is
  // a state of the cluster that passes.
  return new BusError(message, true, fallback, { cause: error })
}

/** True when the error says the cluster could not be reached (feeds healthy()). */
export function isUnreachable(error: BusError): boolean {
  return error.code === 'UNAVAILABLE' || error.code === 'NOT_DURABLE'
}
