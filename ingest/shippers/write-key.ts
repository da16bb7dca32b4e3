import type { FastifyRequest } from 'fastify'
import type { KeyRing } from '../../core/auth/keys.ts'
import { ProblemError } from '../../core/http/problem.ts'
import { INGEST_PROBLEMS } from '../errors.ts'

/**
 * Where shippers and providers can put a write key without plugins, in the order tried:
 *
 * - `Authorization: Basic` — the user name *or* the password (Segment libraries, curl -u, Vector,
 *   syslog-ng and Loki clients send the key as user name; Elasticsearch outputs and Grafana-style
 *   `basic_auth` put a fixed user such as `elastic` or a tenant id first and the key second);
 * - `Authorization: Bearer <key>` (OTel Collector `headers`, Alloy `bearer_token`, Vector `bearer`);
 * - `Authorization: ApiKey <base64(id:key)>` as Filebeat/Logstash `api_key: "id:key"` send it
 *   (either half may be the key), or the raw value;
 * - `X-Eddy-Write-Key`, and `X-Scope-OrgID` (Promtail/Alloy `tenant_id`);
 * - `?key=` in the query (provider webhooks, whose URL is all one can configure).
 *
 * Each candidate is looked up in the key ring; the first that is a write key names the project.
 */
export function writeKeyCandidates(request: FastifyRequest): string[] {
  const candidates: string[] = []
  const authorization = request.headers.authorization ?? ''
  const space = authorization.indexOf(' ')
  const scheme = space === -1 ? '' : authorization.slice(0, space).toLowerCase()
  const credential = space === -1 ? '' : authorization.slice(space + 1).trim()
  if (scheme === 'basic' || scheme === 'apikey') {
    const decoded = Buffer.from(credential, 'base64').toString('utf8')
    const separator = decoded.indexOf(':')
    if (separator === -1) candidates.push(decoded)
    else candidates.push(decoded.slice(0, separator), decoded.slice(separator + 1))
    if (scheme === 'apikey') candidates.push(credential)
  } else if (scheme === 'bearer') {
    candidates.push(credential)
  }
  for (const header of ['x-eddy-write-key', 'x-scope-orgid']) {
    const value = request.headers[header]
    if (typeof value === 'string') candidates.push(value.trim())
  }
  const query = request.query as Record<string, unknown> | undefined
  if (query && typeof query.key === 'string') candidates.push(query.key)
  return candidates.filter((candidate) => candidate !== '')
}

/** The project of the first write key found (see writeKeyCandidates), or 401. */
export function authenticateShipper(request: FastifyRequest, keys: KeyRing, fallback?: string): string {
  const candidates = writeKeyCandidates(request)
  if (fallback) candidates.push(fallback)
  for (const candidate of candidates) {
    const projectId = keys.projectFor(candidate, 'write')
    if (projectId) return projectId
  }
  throw new ProblemError(
    INGEST_PROBLEMS.INGEST_UNAUTHORIZED,
    candidates.length > 0
      ? 'the write key belongs to no project'
      : 'send the write key as the HTTP Basic user name or password, as a Bearer token, as an ApiKey, or in X-Eddy-Write-Key',
  )
}
