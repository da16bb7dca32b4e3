import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { noteProblem, PROBLEM_CONTENT_TYPE, ProblemError, type ProblemDefinition } from './problem.ts'

export interface FrameworkProblems {
  readonly malformedBody: ProblemDefinition
  readonly bodyTooLarge: ProblemDefinition
  readonly unsupportedMediaType: ProblemDefinition
  readonly invalidRequest: ProblemDefinition
  readonly notFound: ProblemDefinition
  readonly methodNotAllowed: ProblemDefinition
  readonly internal: ProblemDefinition
}

/**
 * Turns every error — ours, fastify's (body too large, bad JSON, unknown media type, schema
 * validation) — into problem+json. Unexpected errors are logged in full and answered without
 * internals.
 */
export function installProblemHandler(app: FastifyInstance, problems: FrameworkProblems, options: { notFound?: boolean } = {}): void {
  const served = servedMethods(app)
  const methodNotAllowed = (request: FastifyRequest, reply: FastifyReply): boolean => {
    const path = request.url.split('?')[0]!
    const allowed = served(path)
    if (allowed.length === 0) return false
    // The path exists, the method does not: 405 with what it serves (RFC 9110 §15.5.6), not a 404.
    const body = new ProblemError(problems.methodNotAllowed, `${request.method} is not served at ${path}; it serves ${allowed.join(', ')}`).toProblem()
    noteProblem(reply, body.code)
    void reply.code(405).header('allow', allowed.join(', ')).type(PROBLEM_CONTENT_TYPE).send(body)
    return true
  }
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A method no route serves can still fail in fastify's body parsing (QUERY or PROPFIND without
    // a content type) before the not-found handler runs: the method, not the body, is what is wrong.
    if (request.is404 && methodNotAllowed(request, reply)) return
    let problem: ProblemError
    if (error instanceof ProblemError) {
      problem = error
    } else if (error.validation) {
      problem = new ProblemError(problems.invalidRequest, 'the request does not match the schema', error.validation.map((issue) => ({
        field: `${error.validationContext ?? 'body'}${issue.instancePath || ''}${issue.keyword === 'required' ? `/${(issue.params as { missingProperty: string }).missingProperty}` : ''}`,
        reason: issue.message ?? issue.keyword,
      })))
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      problem = new ProblemError(problems.bodyTooLarge, error.message)
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.statusCode === 415) {
      problem = new ProblemError(problems.unsupportedMediaType, `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted here`)
    } else if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || error instanceof SyntaxError || error.statusCode === 400) {
      problem = new ProblemError(problems.malformedBody, error.message)
    } else {
      request.log.error({ err: error }, 'unhandled error')
      problem = new ProblemError(problems.internal)
    }
    const body = problem.toProblem()
    noteProblem(reply, body.code)
    void reply.code(body.status).headers(problem.headers).type(PROBLEM_CONTENT_TYPE).send(body)
  })
  // fastify allows one not-found handler per prefix; the server that assembles services sets it.
  if (options.notFound === false) return
  app.setNotFoundHandler((request, reply) => {
    if (methodNotAllowed(request, reply)) return
    const path = request.url.split('?')[0]!
    const body = new ProblemError(problems.notFound, `no route ${request.method} ${path}`).toProblem()
    noteProblem(reply, body.code)
    void reply.code(404).type(PROBLEM_CONTENT_TYPE).send(body)
  })
}

/**
 * The methods each route path serves, collected as routes are added (call before registering
 * them): a path's methods for a request path, matching ':param' segments and a trailing '*'.
 */
function servedMethods(app: FastifyInstance): (path: string) => string[] {
  const routes: Array<{ pattern: RegExp; methods: Set<string> }> = []
  const byUrl = new Map<string, Set<string>>()
  app.addHook('onRoute', (route) => {
    let methods = byUrl.get(route.url)
    if (methods === undefined) {
      methods = new Set()
      byUrl.set(route.url, methods)
      const source = route.url.split('/').map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')
      routes.push({ pattern: new RegExp(`^${source}/?$`), methods })
    }
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) methods.add(method)
  })
  return (path) => {
    const allowed = new Set<string>()
    for (const route of routes) if (route.pattern.test(path)) for (const method of route.methods) allowed.add(method)
    return [...allowed].sort()
  }
}
