import type { FastifyRequest } from 'fastify'
import { basicAuthUser, type KeyRing } from '../core/auth/keys.ts'
import { ProblemError, type FieldError } from '../core/http/problem.ts'
import { INGEST_PROBLEMS } from './errors.ts'
import { isObject } from './normalise/fields.ts'

/** The project of the request's write key: HTTP Basic user name, or `writeKey` in the body (Segment). */
export function authenticateWriteKey(request: FastifyRequest, keys: KeyRing): string {
  const fromHeader = basicAuthUser(request.headers.authorization)
  const fromBody = isObject(request.body) && typeof request.body.writeKey === 'string' ? request.body.writeKey : undefined
  const projectId = keys.projectFor(fromHeader ?? fromBody, 'write')
  if (!projectId) {
    throw new ProblemError(INGEST_PROBLEMS.INGEST_UNAUTHORIZED, fromHeader ?? fromBody ? 'the write key belongs to no project' : 'send the write key as the HTTP Basic user name or as writeKey in the body')
  }
  return projectId
}

/**
 * Events larger than the limit are refused. Measuring means serialising, so it is skipped when the
 * whole body is smaller than the limit (then no event can exceed it).
 */
export function oversizedEvents(events: readonly unknown[], bodyBytes: number, maxEventBytes: number, pointer: (index: number) => string): FieldError[] {
  if (bodyBytes <= maxEventBytes) return []
  const errors: FieldError[] = []
  events.forEach((event, index) => {
    const bytes = Buffer.byteLength(JSON.stringify(event) ?? '')
    if (bytes > maxEventBytes) errors.push({ event: index, field: pointer(index), reason: `event is ${bytes} bytes, more than the limit of ${maxEventBytes}` })
  })
  return errors
}

export function bodyBytes(request: FastifyRequest): number {
  return Number(request.headers['content-length'] ?? 0) || Number.MAX_SAFE_INTEGER
}
