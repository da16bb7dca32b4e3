import type { FastifyError, FastifyInstance } from 'fastify'
import { noteProblem, PROBLEM_CONTENT_TYPE, ProblemError, type ProblemDefinition } from './problem.ts'

export interface FrameworkProblems {
  readonly malformedBody: ProblemDefinition
  readonly bodyTooLarge: ProblemDefinition
  readonly unsupportedMediaType: ProblemDefinition
  readonly invalidRequest: ProblemDefinition
  readonly notFound: ProblemDefinition
  readonly internal: ProblemDefinition
}

/**
 * Turns every error — ours, fastify's (body too large, bad JSON, unknown media type, schema
 * validation) — into problem+json. Unexpected errors are logged in full and answered without
 * internals.
 */
export function installProblemHandler(app: FastifyInstance, problems: FrameworkProblems, options: { notFound?: boolean } = {}): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
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
    const body = new ProblemError(problems.notFound, `no route ${request.method} ${request.url.split('?')[0]}`).toProblem()
    noteProblem(reply, body.code)
    void reply.code(404).type(PROBLEM_CONTENT_TYPE).send(body)
  })
}
