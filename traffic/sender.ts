import { retry } from '../core/retry.ts'
import type { GeneratedEvent, Stream } from './generator.ts'

export interface SendOptions {
  readonly baseUrl: string
  readonly writeKey: string
  /** Events per request. */
  readonly batchSize: number
  readonly concurrency: number
  /** Upper bound of events per second; undefined sends as fast as the server takes them. */
  readonly ratePerSecond?: number
  readonly onProgress?: (progress: SendProgress) => void
  /** Milliseconds from a request's first attempt to its answer (its retries included). */
  readonly onAnswered?: (ms: number) => void
  readonly signal?: AbortSignal
}

export interface SendProgress {
  readonly sent: number
  readonly accepted: number
  readonly rejected: number
  readonly retries: number
  readonly total: number
}

export interface Request {
  readonly stream: Stream
  readonly path: string
  readonly body: string
  readonly contentType: string
  readonly events: number
}

/** Groups events into the requests a real client would send: Segment batches, NDJSON logs, notification arrays. */
export function toRequests(events: readonly GeneratedEvent[], batchSize: number): Request[] {
  const requests: Request[] = []
  const pending: Record<Stream, GeneratedEvent[]> = { click: [], log: [], notification: [] }
  const flush = (stream: Stream) => {
    const group = pending[stream]
    if (group.length === 0) return
    const payloads = group.map((event) => event.payload)
    if (stream === 'click') requests.push({ stream, path: '/v1/batch', body: JSON.stringify({ batch: payloads, sentAt: new Date().toISOString() }), contentType: 'application/json', events: group.length })
    else if (stream === 'log') requests.push({ stream, path: '/v1/logs', body: payloads.map((p) => JSON.stringify(p)).join('\n'), contentType: 'application/x-ndjson', events: group.length })
    else requests.push({ stream, path: '/v1/notifications', body: JSON.stringify(payloads), contentType: 'application/json', events: group.length })
    pending[stream] = []
  }
  for (const event of events) {
    pending[event.stream].push(event)
    if (pending[event.stream].length >= batchSize) flush(event.stream)
  }
  for (const stream of ['click', 'log', 'notification'] as const) flush(stream)
  return requests
}

class RetryableResponse extends Error {
  constructor(readonly status: number, readonly retryAfterMs: number) {
    super(`HTTP ${status}`)
  }
}

/**
 * Sends the requests like a well-behaved client: bounded concurrency, an optional rate, and
 * retries with backoff on 429/5xx/network errors (honouring Retry-After). Events carry ids, so a
 * retry never double counts.
 */
export async function sendRequests(requests: readonly Request[], options: SendOptions): Promise<SendProgress> {
  const total = requests.reduce((sum, request) => sum + request.events, 0)
  const progress = { sent: 0, accepted: 0, rejected: 0, retries: 0, total }
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`
  const started = performance.now()
  let next = 0

  const worker = async () => {
    while (next < requests.length && !options.signal?.aborted) {
      const request = requests[next++]!
      if (options.ratePerSecond) {
        const due = started + ((progress.sent + request.events) / options.ratePerSecond) * 1_000
        const wait = due - performance.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      }
      const asked = performance.now()
      const result = await retry(async () => {
        let response: Response
        try {
          response = await fetch(`${options.baseUrl}${request.path}`, { method: 'POST', headers: { 'content-type': request.contentType, authorization }, body: request.body, signal: options.signal })
        } catch {
          throw new RetryableResponse(0, 0)
        }
        if (response.status === 429 || response.status >= 500) {
          await response.arrayBuffer()
          throw new RetryableResponse(response.status, Number(response.headers.get('retry-after') ?? 0) * 1_000)
        }
        const body = await response.json().catch(() => ({})) as { accepted?: number; rejected?: unknown[] }
        return { status: response.status, accepted: response.status === 202 ? body.accepted ?? request.events : 0 }
      }, {
        attempts: 20,
        minDelayMs: 100,
        maxDelayMs: 5_000,
        retriable: (error) => error instanceof RetryableResponse && !options.signal?.aborted,
        onRetry: () => { progress.retries += 1 },
        signal: options.signal,
      })
      options.onAnswered?.(performance.now() - asked)
      progress.sent += request.events
      progress.accepted += result.accepted
      progress.rejected += request.events - result.accepted
      options.onProgress?.({ ...progress })
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  return progress
}
