import type { FastifyRequest } from 'fastify'
import { bearerToken, type KeyRing } from '../core/auth/keys.ts'
import { ProblemError } from '../core/http/problem.ts'
import { API_PROBLEMS } from './errors.ts'

/** The project of the request's read key. The project is never a request parameter. */
export function authenticateReadKey(request: FastifyRequest, keys: KeyRing): string {
  const token = bearerToken(request.headers.authorization)
  const projectId = keys.projectFor(token, 'read')
  if (!projectId) {
    throw new ProblemError(API_PROBLEMS.API_UNAUTHORIZED, token ? 'the key is not a read key of any project' : 'send Authorization: Bearer <read key>', undefined, { 'www-authenticate': 'Bearer' })
  }
  return projectId
}
