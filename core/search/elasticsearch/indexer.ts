import { setMaxListeners } from 'node:events'
import type { Client } from '@elastic/elasticsearch'
import type { Logger } from '../../logging/logger.ts'
import { retry } from '../../retry.ts'
import type { SearchStream } from '../port.ts'
import { itemOutcome, type BulkResponseItem } from './bulk-outcome.ts'
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
  readonly event: { readonly event_id: string; readonly ts: number }
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
  private readonly abort = new AbortController()

  constructor(private readonly options: BulkIndexerOptions) {
    setMaxListeners(0, this.abort.signal)
  }

  index<Event extends { readonly event_id: string; readonly ts: number }>(stream: SearchStream, events: readonly Event[]): Promise<Rejection<Event>[]> {
    if (this.abort.signal.aborted) return Promise.reject(new Error('the Elasticsearch indexer is closed'))
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
        signal: this.abort.signal,
        onRetry: (error, attempt, delayMs) => logger.warn({ err: error, attempt, delayMs, documents: open.length }, 'Elasticsearch bulk indexing incomplete; retrying'),
      })
      for (const waiting of batch) {
        waiting.resolve(waiting.items.flatMap((item) => (item.rejection === undefined ? [] : [{ event: item.event, reason: item.rejection }])))
      }
    } catch (error) {
      for (const waiting of batch) waiting.reject(error)
    }
  }

  /** One `_bulk` call; returns the items to send again. Rejected items are marked and done. */
  private async send(items: Item[]): Promise<Item[]> {
    const { client, prefix, onBulk } = this.options
    const operations: unknown[] = []
    for (const item of items) {
      item.rejection = undefined
      operations.push({ index: { _index: indexFor(prefix, item.stream, item.event.ts), _id: item.event.event_id } }, searchDocument(item.stream, item.event as never))
    }
    const started = performance.now()
    let response
    try {
      response = await client.bulk({ operations })
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

  /** Flushes what is pending, then refuses new events; in-flight retries stop. */
  async close(): Promise<void> {
    await this.flush()
    this.abort.abort()
  }
}
