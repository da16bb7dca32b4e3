import { setMaxListeners } from 'node:events'
import type { Client } from '@elastic/elasticsearch'
import type { Logger } from '../../logging/logger.ts'
import { retry } from '../../retry.ts'
import type { SearchStream } from '../port.ts'
import { itemOutcome, type BulkResponseItem } from './bulk-outcome.ts'
import type { SearchEvent } from '../fields.ts'
import { searchDocument } from './documents.ts'
import { indexFor } from './indices.ts'

export interface Rejection<Event> {
  readonly event: Event
  readonly reason: string
}

export interface BulkIndexerOptions {
  readonly client: Client
  readonly prefix: string
  readonly maxBatchDocs: number
  readonly flushIntervalMs: number
  readonly logger: Logger
  /** After every `_bulk` call (metrics): documents sent, how long it took, and whether it failed. */
  readonly onBulk?: (documents: number, durationMs: number, error?: unknown) => void
}

interface Waiting {
  readonly items: Item[]
  readonly resolve: (rejections: Rejection<unknown>[]) => void
  readonly reject: (error: unknown) => void
}

interface Item {
  readonly stream: SearchStream
  readonly event: { readonly event_id: string; readonly project_id: string; readonly ts: number }
  /** Set when Elasticsearch refused the document itself: it goes to the dead-letter queue. */
  rejection?: string
  /** Why the last attempt did not index it (for the log). */
  retryReason?: string
}

class ItemsToRetry extends Error {
  constructor(readonly count: number, readonly sample: string) {
    super(`${count} documents were not indexed yet (${sample}); retrying them`)
  }
}

/**
 * Group-commits events into Elasticsearch with `_bulk`. Callers from many partitions add events
 * and learn, once every document is indexed or rejected, which ones were rejected (for the
 * dead-letter queue). `_id` is the event id and the index follows the event's month, so a replay
 * overwrites instead of duplicating. Retriable items and failed requests are retried with backoff
 * until they succeed or the indexer is closed: callers keep waiting, which is what pauses
 * consumption while Elasticsearch is down, and offsets are committed only after that.
 */
export class BulkIndexer {
  private pending: Waiting[] = []
  private pendingDocs = 0
  private timer: NodeJS.Timeout | undefined
  private readonly aborted = new AbortController()

  constructor(private readonly options: BulkIndexerOptions) {
    setMaxListeners(0, this.aborted.signal)
  }

  index<Event extends { readonly event_id: string; readonly project_id: string; readonly ts: number }>(stream: SearchStream, events: readonly Event[]): Promise<Rejection<Event>[]> {
    if (this.aborted.signal.aborted) return Promise.reject(new Error('the Elasticsearch indexer is closed'))
    if (events.length === 0) return Promise.resolve([])
    const items = events.map((event) => ({ stream, event }))
    const done = new Promise<Rejection<unknown>[]>((resolve, reject) => this.pending.push({ items, resolve, reject }))
    this.pendingDocs += items.length
    if (this.pendingDocs >= this.options.maxBatchDocs) void this.flush()
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs)
    return done as Promise<Rejection<Event>[]>
  }

  private async flush(): Promise<void> {
    const batch = this.pending
    this.pending = []
    this.pendingDocs = 0
    clearTimeout(this.timer)
    this.timer = undefined
    if (batch.length === 0) return
    const { logger } = this.options
    let open = batch.flatMap((waiting) => waiting.items)
    try {
      await retry(async () => {
        open = await this.send(open)
        if (open.length > 0) throw new ItemsToRetry(open.length, open[0]!.retryReason ?? '')
      }, {
        attempts: Number.POSITIVE_INFINITY,
        minDelayMs: 200,
        maxDelayMs: 10_000,
        signal: this.aborted.signal,
        onRetry: (error, attempt, delayMs) => logger.warn({ err: error, attempt, delayMs, documents: open.length }, 'Elasticsearch bulk indexing incomplete; retrying'),
      })
      for (const waiting of batch) {
        waiting.resolve(waiting.items.flatMap((item) => (item.rejection === undefined ? [] : [{ event: item.event, reason: item.rejection }])))
      }
    } catch (error) {
      for (const waiting of batch) waiting.reject(error)
    }
  }

  /**
   * `_bulk` calls of at most `MAX_BULK_BYTES` each (Elasticsearch refuses a request over
   * http.max_content_length, 100 MB by default, and large bulks only add latency); returns the
   * items to send again. Rejected items are marked and done.
   */
  private async send(items: Item[]): Promise<Item[]> {
    const again: Item[] = []
    let operations: string[] = []
    let chunk: Item[] = []
    let bytes = 0
    for (const item of items) {
      item.rejection = undefined
      const action = JSON.stringify({ index: { _index: indexFor(this.options.prefix, item.stream, item.event.ts), _id: documentId(item.event) } })
      const document = JSON.stringify(searchDocument(item.stream, item.event as SearchEvent<typeof item.stream>))
      if (chunk.length > 0 && bytes + action.length + document.length > MAX_BULK_BYTES) {
        again.push(...await this.bulk(chunk, operations))
        operations = []
        chunk = []
        bytes = 0
      }
      operations.push(action, document)
      chunk.push(item)
      bytes += action.length + document.length + 2
    }
    if (chunk.length > 0) again.push(...await this.bulk(chunk, operations))
    return again
  }

  private async bulk(items: Item[], operations: string[]): Promise<Item[]> {
    const { client, onBulk } = this.options
    const started = performance.now()
    let response
    try {
      // The body is already NDJSON lines: the client joins them without serialising again.
      response = await client.bulk({ operations: operations as never }, { requestTimeout: 60_000 })
    } catch (error) {
      onBulk?.(items.length, performance.now() - started, error)
      throw error
    }
    onBulk?.(items.length, performance.now() - started)
    if (!response.errors) return []
    const again: Item[] = []
    response.items.forEach((result, position) => {
      const item = items[position]!
      const outcome = itemOutcome(result as BulkResponseItem)
      if (outcome.kind === 'reject') item.rejection = outcome.reason
      else if (outcome.kind === 'retry') {
        item.retryReason = outcome.reason
        again.push(item)
      }
    })
    return again
  }

  /**
   * Stops retrying: every caller still waiting is rejected, so a shutdown during an outage ends.
   * Nothing is lost: their offsets were not committed, and the replay overwrites the same documents.
   */
  abort(): void {
    this.aborted.abort()
  }

  /** Flushes what is pending, then refuses new events. Call abort() first to stop waiting for an outage. */
  async close(): Promise<void> {
    await this.flush()
    this.aborted.abort()
  }
}

/**
 * The document id: the event id within its project. Event ids are unique per project only (a
 * client may send its own UUIDs, and the same ones to two projects), and one index holds every
 * project, so the id alone would let one project overwrite another's document.
 */
export function documentId(event: { readonly project_id: string; readonly event_id: string }): string {
  return `${event.project_id}/${event.event_id}`
}

/** Bulk requests stay under this many bytes of NDJSON. */
const MAX_BULK_BYTES = 10 * 1024 * 1024
