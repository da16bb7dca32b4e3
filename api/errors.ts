import { defineProblems, ProblemError } from '../core/http/problem.ts'

/** The api's error catalogue. Codes are stable and never reused; docs/errors.md lists them. */
export const API_PROBLEMS = defineProblems({
  API_INVALID_REQUEST: { status: 400, title: 'Invalid request', meaning: 'A query parameter or body field is missing or malformed; `errors` names each one.' },
  API_MALFORMED_BODY: { status: 400, title: 'Malformed body', meaning: 'The request body is not valid JSON.' },
  API_UNAUTHORIZED: { status: 401, title: 'Unknown read key', meaning: 'Send a read key as `Authorization: Bearer <key>`. Write keys cannot read.' },
  API_NOT_FOUND: { status: 404, title: 'Not found', meaning: 'No such api endpoint.' },
  API_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed', meaning: 'The api endpoint exists but does not serve this method; `Allow` lists those it serves.' },
  API_BODY_TOO_LARGE: { status: 413, title: 'Request too large', meaning: 'The request body is too large.' },
  API_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type', meaning: 'Send application/json.' },
  API_VALUE_REFUSED: { status: 400, title: 'Value refused by the store', meaning: 'ClickHouse could not take a value the request carried (out of range, unparsable, a pattern that does not compile); `detail` says which. Change the request; retrying it will not help.' },
  API_QUERY_TOO_EXPENSIVE: { status: 422, title: 'Query too expensive', meaning: 'The query ran past its time limit or its result past the row limit; narrow the period, the filters or the interval.' },
  API_RATE_LIMITED: { status: 429, title: 'Too many requests', meaning: 'The read key sent more requests than its rate limit (EDDY_RATE_LIMIT_API_*). Retry after Retry-After seconds; the `RateLimit-*` headers show the budget.' },
  API_AUTH_THROTTLED: { status: 429, title: 'Too many failed authentications', meaning: 'This client address (an IPv6 /64) sent more unknown keys than EDDY_AUTH_FAILURE_BURST at EDDY_AUTH_FAILURE_PER_MINUTE allow, so for now every key it sends is refused, a valid one too (otherwise the one answer that is not 429 would reveal the right guess). Retry after Retry-After seconds with the right key.' },
  API_RATE_LIMIT_UNAVAILABLE: { status: 503, title: 'Rate limits unavailable', meaning: 'Reserved: the api falls back to per-instance limits when the rate limit store (Redis) is down, so it never answers this today.' },
  API_STORE_UNAVAILABLE: { status: 503, title: 'Store unavailable', meaning: 'ClickHouse (or, for search, Elasticsearch) did not answer; retry after Retry-After seconds.' },
  API_LINE_NOT_FOUND: { status: 404, title: 'Line not found', meaning: 'The project has no log line with this id in the period searched (widen `period` if the line is older).' },
  API_OPERATOR_KEY_REQUIRED: { status: 401, title: 'Operator key required', meaning: 'Operations on the whole pipeline (a reprocess) take an operator key (EDDY_OPERATOR_KEYS) as `Authorization: Bearer <key>`; read and write keys cannot.' },
  API_REPROCESS_RUNNING: { status: 409, title: 'A reprocess is running', meaning: 'This process runs one reprocess at a time; `detail` names the one running. Follow it at its `/api/v1/pipeline/reprocess/{id}` and ask again once it has ended.' },
  API_REPROCESS_NOT_FOUND: { status: 404, title: 'Reprocess not found', meaning: 'This process has no reprocess with this id: it was started by another process, or the process restarted (a run stopped by a restart goes on when the same range is asked for again).' },
  API_INTERNAL: { status: 500, title: 'Internal error', meaning: 'A bug; please report it with the log line.' },
})

export const API_FRAMEWORK_PROBLEMS = {
  malformedBody: API_PROBLEMS.API_MALFORMED_BODY,
  bodyTooLarge: API_PROBLEMS.API_BODY_TOO_LARGE,
  unsupportedMediaType: API_PROBLEMS.API_UNSUPPORTED_MEDIA_TYPE,
  invalidRequest: API_PROBLEMS.API_INVALID_REQUEST,
  notFound: API_PROBLEMS.API_NOT_FOUND,
  methodNotAllowed: API_PROBLEMS.API_METHOD_NOT_ALLOWED,
  internal: API_PROBLEMS.API_INTERNAL,
}

/** A 400 naming the one offending input, as a JSON pointer such as `querystring/filters/0/1`. */
export function invalidInput(field: string, reason: string): ProblemError {
  return new ProblemError(API_PROBLEMS.API_INVALID_REQUEST, `${field}: ${reason}`, [{ field, reason }])
}
