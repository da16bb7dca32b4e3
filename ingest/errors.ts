import { defineProblems } from '../core/http/problem.ts'

/** Ingest's error catalogue. Codes are stable and never reused; docs/errors.md lists them. */
export const INGEST_PROBLEMS = defineProblems({
  INGEST_INVALID_EVENTS: { status: 400, title: 'Invalid events', meaning: 'One or more events failed validation; `errors` names each event and field. For batch endpoints nothing was written.' },
  INGEST_MALFORMED_BODY: { status: 400, title: 'Malformed body', meaning: 'The body is not valid JSON/NDJSON or not the expected shape (for example not an array).' },
  INGEST_INVALID_REQUEST: { status: 400, title: 'Invalid request', meaning: 'The request does not match the endpoint schema; `errors` names the fields.' },
  INGEST_NESTED_TOO_DEEP: { status: 400, title: 'Nested too deep', meaning: 'Objects and arrays in the body nest more than EDDY_MAX_NESTING_DEPTH levels (default 64, counted from the body itself); `errors` names the event and the field where the limit is passed. Nothing was written; a line of NDJSON (or an Elasticsearch `_bulk` document) that nests too deep is refused on its own.' },
  INGEST_UNAUTHORIZED: { status: 401, title: 'Unknown write key', meaning: 'No write key was given (HTTP Basic user name or `writeKey` in the body; for logs and webhooks also the Basic password, `Bearer`, `ApiKey`, `X-Eddy-Write-Key`, `X-Scope-OrgID` or `?key=`), or it belongs to no project.' },
  INGEST_NOT_FOUND: { status: 404, title: 'Not found', meaning: 'No such ingest endpoint.' },
  INGEST_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed', meaning: 'The ingest endpoint exists but does not serve this method; `Allow` lists those it serves.' },
  INGEST_BODY_TOO_LARGE: { status: 413, title: 'Request too large', meaning: 'The request body (after gunzip) exceeds EDDY_MAX_REQUEST_BYTES.' },
  INGEST_EVENT_TOO_LARGE: { status: 413, title: 'Event too large', meaning: 'An event exceeds EDDY_MAX_EVENT_BYTES; `errors` names it. Nothing was written.' },
  INGEST_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type', meaning: 'Send application/json (or text/plain with a JSON body, as sendBeacon does); logs also accept application/x-ndjson, and OTLP and Loki pushes application/x-protobuf. gzip content-encoding is accepted.' },
  INGEST_BUS_UNAVAILABLE: { status: 503, title: 'Not accepted, try again', meaning: 'The durable log could not acknowledge the events in time. Nothing is accepted; retry after Retry-After seconds.' },
  INGEST_STORAGE_FULL: { status: 507, title: 'Storage full, try again', meaning: 'The disk under the embedded event log is full. Nothing is accepted; retry after Retry-After seconds. Ingest recovers by itself once space is freed in EDDY_DATA_DIR.' },
  INGEST_WEBHOOK_SIGNATURE_INVALID: { status: 401, title: 'Webhook signature invalid', meaning: 'A provider webhook was unsigned, its signature did not verify against the project\'s secret, or (SNS) its topic is not one the project accepts. Nothing was stored; the rejection is counted.' },
  INGEST_WEBHOOK_NOT_CONFIGURED: { status: 401, title: 'Webhook not configured', meaning: 'The project has no secret for this provider (SendGrid verification key, Twilio auth token, SNS topic ARNs), so its webhooks cannot be verified and are refused.' },
  INGEST_WEBHOOK_UNAVAILABLE: { status: 503, title: 'Webhook not verified, try again', meaning: 'The SNS signing certificate could not be fetched or the subscription could not be confirmed. Nothing was stored; SNS retries.' },
  INGEST_RATE_LIMITED: { status: 429, title: 'Too many requests', meaning: 'The write key sent more requests than its rate limit (EDDY_RATE_LIMIT_INGEST_*); nothing was accepted. Retry after Retry-After seconds; the `RateLimit-*` headers show the budget.' },
  INGEST_AUTH_THROTTLED: { status: 429, title: 'Too many failed authentications', meaning: 'This client address (an IPv6 /64) sent more unknown write keys or bad webhook signatures than EDDY_AUTH_FAILURE_BURST at EDDY_AUTH_FAILURE_PER_MINUTE allow; nothing was accepted. Requests with a valid write key still pass. Retry after Retry-After seconds with a write key of a project.' },
  INGEST_RATE_LIMIT_UNAVAILABLE: { status: 503, title: 'Rate limits unavailable', meaning: 'Reserved: ingest fails open when the rate limit store (Redis) is down, so it never answers this today.' },
  INGEST_INTERNAL: { status: 500, title: 'Internal error', meaning: 'A bug; the events were not accepted. Please report it with the log line.' },
})

export const FRAMEWORK_PROBLEMS = {
  malformedBody: INGEST_PROBLEMS.INGEST_MALFORMED_BODY,
  bodyTooLarge: INGEST_PROBLEMS.INGEST_BODY_TOO_LARGE,
  unsupportedMediaType: INGEST_PROBLEMS.INGEST_UNSUPPORTED_MEDIA_TYPE,
  invalidRequest: INGEST_PROBLEMS.INGEST_INVALID_REQUEST,
  notFound: INGEST_PROBLEMS.INGEST_NOT_FOUND,
  methodNotAllowed: INGEST_PROBLEMS.INGEST_METHOD_NOT_ALLOWED,
  internal: INGEST_PROBLEMS.INGEST_INTERNAL,
}
