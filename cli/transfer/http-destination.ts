import type { FieldError } from '../../core/http/problem.ts'
import { abortableSleep } from '../../core/retry.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import type { BatchRefusal, ImportDestination } from './destination.ts'
import { describeFieldErrors, type AcceptedLine } from './normalise-line.ts'

export interface HttpDestinationOptions {
  /** Ingest's base URL, e.g. http://127.0.0.1:8080. */
  readonly baseUrl: string
  readonly writeKey: string
  /** Attempts per request while ingest answers 429/5xx or cannot be reached. */
  readonly attempts?: number
  readonly onRetry?: (status: number, attempt: number) => void
  readonly sleep?: (ms: number) => Promise<void>
}

const ROUTE: Readonly<Record<Stream, { path: string; contentType: string; body: (payloads: unknown[]) => string }>> = {
  click: { path: '/v1/batch', contentType: 'application/json', body: (payloads) => JSON.stringify({ batch: payloads }) },
  log: { path: '/v1/logs', contentType: 'application/x-ndjson', body: (payloads) => payloads.map((payload) => JSON.stringify(payload)).join('\n') },
  notification: { path: '/v1/notifications', contentType: 'application/json', body: (payloads) => JSON.stringify(payloads) },
}

class RefusedRequest extends Error {}

/**
 * Posts the lines to a running ingest, as any client would (the write key as the Basic user), for
 * when the embedded log belongs to the `eddy start` process. Ingest normalises them again, the
 * same way the import checked them; 429 and 5xx are retried after Retry-After. Events ingest
 * still refuses (a time that crossed the retention edge meanwhile) are reported, the rest resent.
 */
export function httpDestination(options: HttpDestinationOptions): ImportDestination {
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms))
  const attempts = options.attempts ?? 30

  const post = async (stream: Stream, payloads: unknown[]): Promise<{ status: number; body: { rejected?: FieldError[]; errors?: FieldError[]; detail?: string } }> => {
    const route = ROUTE[stream]
    // No user agent (fetch would send `node`): ingest honours an exported line's `context.eddy`
    // client only where there is no user agent to parse (ingest/normalise/archived-client.ts).
    const headers = { 'content-type': route.contentType, authorization, 'user-agent': '' }
    for (let attempt = 1; ; attempt++) {
      let status = 0
      let retryAfterMs = 0
      try {
        const response = await fetch(`${options.baseUrl}${route.path}`, { method: 'POST', headers, body: route.body(payloads) })
        status = response.status
        const body = await response.json().catch(() => ({}))
        if (status !== 429 && status < 500) return { status, body }
        // Seconds; an HTTP date (or anything else) falls back to the backoff.
        retryAfterMs = (Number(response.headers.get('retry-after')) || 0) * 1_000
      } catch (error) {
        if (attempt >= attempts) throw error
      }
      if (attempt >= attempts) throw new Error(`ingest at ${options.baseUrl} kept answering ${status} to ${route.path}`)
      options.onRetry?.(status, attempt)
      await sleep(Math.max(retryAfterMs, Math.min(10_000, 100 * 2 ** attempt)))
    }
  }

  const publish = async (batch: readonly AcceptedLine[], resent = false): Promise<BatchRefusal[]> => {
    if (batch.length === 0) return []
    const stream = batch[0]!.stream
    const { status, body } = await post(stream, batch.map((line) => line.payload))
    // Logs answer 202 naming refused lines (1-based line numbers of the NDJSON body).
    if (status === 202) return refusalsOf(body.rejected ?? [], stream === 'log' ? 1 : 0)
    if (status === 401 || status === 403) throw new RefusedRequest(`ingest refused the write key (${status})`)
    const refusals = refusalsOf(body.errors ?? [], stream === 'log' ? 1 : 0)
    // Batches and notification arrays are all-or-nothing: drop what was refused, send the rest once more.
    if ((status === 400 || status === 413) && refusals.length > 0 && !resent && stream !== 'log') {
      const refused = new Set(refusals.map((refusal) => refusal.index))
      return [...refusals, ...remap(await publish(batch.filter((_line, index) => !refused.has(index)), true), batch, refused)]
    }
    if (status === 400 && stream === 'log') return batch.map((_line, index) => refusals.find((refusal) => refusal.index === index) ?? { index, reason: body.detail ?? 'refused by ingest' })
    throw new RefusedRequest(`ingest answered ${status} to ${ROUTE[stream].path}: ${body.detail ?? ''}`.trim())
  }

  return { description: `ingest at ${options.baseUrl}`, publish: (batch) => publish(batch), close: async () => undefined }
}

/** Field errors by event position → refusals by batch index, one per event, reasons joined. */
function refusalsOf(errors: readonly FieldError[], firstPosition: number): BatchRefusal[] {
  const byIndex = new Map<number, FieldError[]>()
  for (const error of errors) {
    if (error.event === undefined) continue
    const index = error.event - firstPosition
    byIndex.set(index, [...(byIndex.get(index) ?? []), { ...error, field: error.field.replace(/^\/(batch\/)?\d+/, '') }])
  }
  return [...byIndex].map(([index, fieldErrors]) => ({ index, reason: describeFieldErrors(fieldErrors) }))
}

/** Indexes of a resent subset back to the indexes of the whole batch. */
function remap(refusals: readonly BatchRefusal[], batch: readonly AcceptedLine[], removed: ReadonlySet<number>): BatchRefusal[] {
  const original = batch.map((_line, index) => index).filter((index) => !removed.has(index))
  return refusals.map((refusal) => ({ ...refusal, index: original[refusal.index]! }))
}
