import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { defineProblems, noteProblem, PROBLEM_CONTENT_TYPE, ProblemError } from './problem.ts'

/**
 * Errors Node's HTTP parser finds before a request reaches a route (a request line and headers
 * over the 16 KB limit, bytes that are not HTTP). They are answered as problems too, so a client
 * never has to parse a second error format; the connection is closed after the answer.
 */
export const HTTP_PROBLEMS = defineProblems({
  HTTP_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large', meaning: 'The request line (with its query string) and headers exceed 16 KB. Shorten the query string; no service saw the request.' },
  HTTP_MALFORMED_REQUEST: { status: 400, title: 'Malformed HTTP request', meaning: 'The bytes received are not a valid HTTP/1.1 request; no service saw the request.' },
  HTTP_MALFORMED_URL: { status: 400, title: 'Malformed URL', meaning: 'The path holds an invalid percent-encoding; no service saw the request.' },
  HTTP_PATH_PARAMETER_TOO_LONG: { status: 414, title: 'Path parameter too long', meaning: 'A segment of the path that names something (an index, a template) is longer than 100 characters; no service saw the request.' },
  HTTP_ROUTER_FAILED: { status: 500, title: 'Routing failed', meaning: 'A bug in choosing the route; no service saw the request. Please report it with the log line.' },
})

/**
 * What fastify's router refuses before any route runs (fastify's `frameworkErrors`): a bad
 * percent-encoding, a path parameter over the router's limit. Answered as problems, like every
 * other error, instead of fastify's own JSON shape.
 */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const definition = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? HTTP_PROBLEMS.HTTP_PATH_PARAMETER_TOO_LONG : error.code === 'FST_ERR_BAD_URL' ? HTTP_PROBLEMS.HTTP_MALFORMED_URL : HTTP_PROBLEMS.HTTP_ROUTER_FAILED
  if (definition.status >= 500) reply.log.error({ err: error }, 'the router failed')
  const body = new ProblemError(definition).toProblem()
  noteProblem(reply, body.code)
  void reply.code(definition.status).type(PROBLEM_CONTENT_TYPE).send(body)
}

export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy(error)
    return
  }
  const definition = error.code === 'HPE_HEADER_OVERFLOW' ? HTTP_PROBLEMS.HTTP_HEADERS_TOO_LARGE : HTTP_PROBLEMS.HTTP_MALFORMED_REQUEST
  const body = JSON.stringify(new ProblemError(definition).toProblem())
  socket.end(
    `HTTP/1.1 ${definition.status} ${STATUS_CODES[definition.status]}\r\n` +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
