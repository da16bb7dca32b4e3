import type { FastifyRequest } from 'fastify'
import { basicAuthUser, type KeyRing } from '../core/auth/keys.ts'
import { ProblemError, type FieldError } from '../core/http/problem.ts'
export { trustedProxies } from '../core/http/trusted-proxies.ts'
export { clientAddress } from '../core/http/client-address.ts'
import { INGEST_PROBLEMS } from './errors.ts'
import { isObject } from './normalise/fields.ts'

/**
 * The project of the request's write key: the HTTP Basic user name or `writeKey` in the body
 * (Segment). The first of the two that is a write key wins, so a client that sends a stray Basic
 * user (a proxy's, a default) next to a valid body key is not refused.
 */
export function authenticateWriteKey(request: FastifyRequest, keys: KeyRing): string {
  const fromHeader = basicAuthUser(request.headers.authorization)
  const fromBody = isObject(request.body) && typeof request.body.writeKey === 'string' ? request.body.writeKey : undefined
  const candidates = [fromHeader, fromBody].filter((candidate): candidate is string => candidate !== undefined && candidate !== '')
  for (const candidate of candidates) {
    const projectId = keys.projectFor(candidate, 'write')
    if (projectId) return projectId
  }
  throw new ProblemError(INGEST_PROBLEMS.INGEST_UNAUTHORIZED, candidates.length > 0 ? 'the write key belongs to no project' : 'send the write key as the HTTP Basic user name or as writeKey in the body')
}

/**
 * Events larger than the limit are refused. Measuring means serialising, which is costly on the
 * hot path, so it is skipped when the whole body is within the limit, and for events whose cheap
 * upper bound (jsonSizeBound) already is.
 */
export function oversizedEvents(events: readonly unknown[], bodyBytes: number, maxEventBytes: number, pointer: (index: number) => string): FieldError[] {
  if (bodyBytes <= maxEventBytes) return []
  const errors: FieldError[] = []
  events.forEach((event, index) => {
    if (jsonSizeBound(event, maxEventBytes) <= maxEventBytes) return
    const bytes = Buffer.byteLength(JSON.stringify(event) ?? '')
    if (bytes > maxEventBytes) errors.push({ event: index, field: pointer(index), reason: `event is ${bytes} bytes, more than the limit of ${maxEventBytes}` })
  })
  return errors
}

/**
 * An upper bound of the UTF-8 JSON size of a value without building the string: every UTF-16
 * unit is at most 6 bytes once escaped (\u0000) or encoded, plus punctuation. Stops counting once
 * past `stopAbove`. A loop over a stack of values still to count, not recursion: the sum does not
 * depend on the order, and the body parser's depth check should not be all that stands between a
 * client's nesting and the call stack.
 */
export function jsonSizeBound(value: unknown, stopAbove: number): number {
  let size = 0
  const pending: unknown[] = [value]
  while (pending.length > 0 && size <= stopAbove) {
    const item = pending.pop()
    if (typeof item === 'string') size += 2 + 6 * item.length
    else if (Array.isArray(item)) {
      size += 2 + item.length
      for (let index = 0; index < item.length; index++) pending.push(item[index])
    } else if (item !== null && typeof item === 'object') {
      size += 2
      for (const key in item) {
        size += 4 + 6 * key.length
        pending.push((item as Record<string, unknown>)[key])
      }
    }
    // Numbers, booleans, null: at most 25 characters, the longest being a negative number in
    // [1e-6, 1e-5) with 17 significant digits, -0.0000012345678901234567 (fast-check found it).
    else size += 25
  }
  return size
}

export function bodyBytes(request: FastifyRequest): number {
  return Number(request.headers['content-length'] ?? 0) || Number.MAX_SAFE_INTEGER
}
