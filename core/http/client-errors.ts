import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { defineProblems, PROBLEM_CONTENT_TYPE, ProblemError } from './problem.ts'

/**
 * Errors Node's HTTP parser finds before a request reaches a route (a request line and headers
 * over the 16 KB limit, bytes that are not HTTP). They are answered as problems too, so a client
 * never has to parse a second error format; the connection is closed after the answer.
 */
export const HTTP_PROBLEMS = defineProblems({
  HTTP_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large', meaning: 'The request line (with its query string) and headers exceed 16 KB. Shorten the query string; no service saw the request.' },
  HTTP_MALFORMED_REQUEST: { status: 400, title: 'Malformed HTTP request', meaning: 'The bytes received are not a valid HTTP/1.1 request; no service saw the request.' },
})

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
