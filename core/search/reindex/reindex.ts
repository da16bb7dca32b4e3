import type { Client } from '@elastic/elasticsearch'
import type { ClickHouseClient } from '../../clickhouse/client.ts'
import type { Logger } from '../../logging/logger.ts'
import type { SearchEvent } from '../fields.ts'
import type { SearchStream } from '../port.ts'
import { BulkIndexer, type Rejection } from '../elasticsearch/indexer.ts'
import { indexPattern, installIndexTemplates } from '../elasticsearch/indices.ts'
import { ReindexProgressFile, type RejectedDocument, type ResumePoint, type ReindexTarget } from './progress-file.ts'
import { ClickHouseRawEvents, positionOf, type RawEventSource, type ReadPosition } from './raw-events.ts'

/**
 * Where documents go: the live path's BulkIndexer (its document mapping, index names, `_id`,
 * retries and back-pressure), or a fake in tests.
 */
export interface DocumentSink {
  index<Event extends SearchEvent<SearchStream>>(stream: SearchStream, events: readonly Event[]): Promise<Rejection<Event>[]>
}

export interface ReindexProgress {
  readonly stream: SearchStream
  /** Documents of this run indexed (or refused) so far, out of `total`. */
  readonly done: number
  readonly total: number
  readonly rejected: number
  /** Documents an interrupted earlier run had already indexed; not in `total`. */
  readonly resumedAfter: number
}

export interface ReindexSummary extends ReindexProgress {
  readonly rejectedPath?: string
}

export interface ReindexStreamOptions {
  readonly source: RawEventSource
  readonly sink: DocumentSink
  readonly target: ReindexTarget
  readonly progressFile: ReindexProgressFile
  readonly batchSize: number
  /** Rows per ClickHouse query: what one page may hold in memory (chDB buffers a whole result). */
  readonly pageSize: number
  /** `_bulk` batches outstanding at once; progress is recorded in order, behind the oldest. */
  readonly batchesInFlight: number
  readonly logger: Logger
  readonly onProgress?: (progress: ReindexProgress) => void
  readonly onRejected?: (documents: readonly RejectedDocument[]) => void
}

/** Reading a page again after ClickHouse broke off (a server drops a stream left waiting too long). */
const READ_ATTEMPTS = 3

/** A failure of the ClickHouse read itself, which may be read again, unlike one of the indexing. */
class ReadFailure extends Error {
  constructor(readonly error: unknown) {
    super('reading raw events failed', { cause: error })
  }
}

async function* markingReadFailures<Event>(events: AsyncIterable<Event>): AsyncIterable<Event> {
  try {
    for await (const event of events) yield event
  } catch (error) {
    throw new ReadFailure(error)
  }
}

type Outcome = { readonly ok: true; readonly rejections: Rejection<SearchEvent<SearchStream>>[] } | { readonly ok: false; readonly error: unknown }

interface InFlight {
  readonly outcome: Promise<Outcome>
  readonly last: ReadPosition
  readonly size: number
}

/**
 * Copies one stream's raw events of a range into the search index, oldest first, and records
 * after every batch, in order, how far every document is indexed. A run that finds an
 * interrupted run's resume point continues after it; what that run sent beyond its last
 * recorded point is sent again, which overwrites the same `_id`s.
 */
export async function reindexStream(options: ReindexStreamOptions): Promise<ReindexSummary> {
  const { source, sink, target, progressFile, batchSize, pageSize, batchesInFlight, logger } = options
  const resume = progressFile.load()
  if (!resume) progressFile.clearRejected()
  const resumedAfter = resume?.indexed ?? 0
  let committed: ResumePoint | undefined = resume
  let done = 0
  let rejected = 0
  const total = await source.count(target, resume?.after)
  const report = () => options.onProgress?.({ stream: target.stream, done, total, rejected, resumedAfter })
  report()

  const inFlight: InFlight[] = []
  let batch: SearchEvent<SearchStream>[] = []
  const commitOldest = async () => {
    const head = inFlight.shift()!
    const outcome = await head.outcome
    if (!outcome.ok) throw outcome.error
    const refused = outcome.rejections.map(({ event, reason }) => ({ eventId: event.event_id, projectId: event.project_id, ts: event.ts, reason }))
    progressFile.recordRejected(refused)
    if (refused.length > 0) options.onRejected?.(refused)
    done += head.size
    rejected += refused.length
    committed = { after: head.last, indexed: (committed?.indexed ?? 0) + head.size - refused.length, rejected: (committed?.rejected ?? 0) + refused.length }
    progressFile.save(committed)
    report()
  }
  const submit = async () => {
    const events = batch
    batch = []
    const last = events[events.length - 1]!
    // Settled at once, so a failure of a batch not yet awaited is never an unhandled rejection.
    const outcome: Promise<Outcome> = sink.index(target.stream, events).then((rejections) => ({ ok: true, rejections }), (error: unknown) => ({ ok: false, error }))
    inFlight.push({ outcome, last: positionOf(last), size: events.length })
    while (inFlight.length > batchesInFlight) await commitOldest()
  }

  try {
    let readAfter = resume?.after
    for (let failures = 0; ;) {
      let rows = 0
      try {
        for await (const event of markingReadFailures(source.read(target, readAfter, pageSize))) {
          rows += 1
          batch.push(event)
          readAfter = positionOf(event)
          if (batch.length >= batchSize) await submit()
        }
      } catch (error) {
        if (!(error instanceof ReadFailure) || ++failures >= READ_ATTEMPTS) throw error
        logger.warn({ err: error.error, stream: target.stream, after: readAfter }, 'reading raw events from ClickHouse broke off; reading on from the last event read')
        continue
      }
      failures = 0
      if (rows < pageSize) break
    }
    if (batch.length > 0) await submit()
    while (inFlight.length > 0) await commitOldest()
  } catch (error) {
    // Batches still in flight are not waited for (Elasticsearch may be the one failing): the
    // caller aborts the indexer, and the next run sends them again from the last recorded point.
    throw error instanceof ReadFailure ? error.error : error
  }
  progressFile.finish()
  return { stream: target.stream, done, total, rejected, resumedAfter, ...(rejected + (resume?.rejected ?? 0) > 0 ? { rejectedPath: progressFile.rejectedPath } : {}) }
}

export interface ReindexRequest {
  readonly streams: readonly SearchStream[]
  readonly fromMs: number
  readonly toMs: number
  readonly projectIds: readonly string[]
  readonly batchSize?: number
  readonly pageSize?: number
  readonly onProgress?: (progress: ReindexProgress) => void
  readonly onRejected?: (stream: SearchStream, documents: readonly RejectedDocument[]) => void
}

export interface ReindexDependencies {
  readonly clickhouse: ClickHouseClient
  readonly database: string
  readonly elasticsearch: Client
  /** The live indexer's prefix (EDDY_TOPIC_PREFIX): the same index names, so the same documents. */
  readonly indexPrefix: string
  /** Where resume points and reports are kept (`<dataDir>/reindex`). */
  readonly progressDirectory: string
  readonly logger: Logger
}

export const REINDEX_DEFAULTS = { batchSize: 5_000, pageSize: 50_000, batchesInFlight: 4 } as const

/**
 * `eddy reindex`: backfills Elasticsearch from ClickHouse's raw logs and notifications, stream
 * after stream, through the live BulkIndexer. The index templates go in first, as `eddy migrate`
 * puts them, or Elasticsearch would guess the mappings of the first document.
 */
export async function reindexSearch(dependencies: ReindexDependencies, request: ReindexRequest): Promise<ReindexSummary[]> {
  const { clickhouse, database, elasticsearch, indexPrefix, progressDirectory, logger } = dependencies
  const batchSize = request.batchSize ?? REINDEX_DEFAULTS.batchSize
  await installIndexTemplates(elasticsearch, indexPrefix, logger)
  // Each batch is one flush of its own: index() of maxBatchDocs documents sends at once.
  const indexer = new BulkIndexer({ client: elasticsearch, prefix: indexPrefix, maxBatchDocs: batchSize, flushIntervalMs: 20, logger: logger.child({ component: 'reindex-indexer' }) })
  const source = new ClickHouseRawEvents(clickhouse, database)
  const summaries: ReindexSummary[] = []
  try {
    for (const stream of request.streams) {
      const target: ReindexTarget = { stream, fromMs: request.fromMs, toMs: request.toMs, projectIds: request.projectIds, indexPrefix }
      summaries.push(await reindexStream({
        source,
        sink: indexer,
        target,
        progressFile: new ReindexProgressFile(progressDirectory, target),
        batchSize,
        pageSize: request.pageSize ?? REINDEX_DEFAULTS.pageSize,
        batchesInFlight: REINDEX_DEFAULTS.batchesInFlight,
        logger,
        onProgress: request.onProgress,
        onRejected: (documents) => request.onRejected?.(stream, documents),
      }))
      // Searchable as soon as the command returns, not a refresh interval later.
      await elasticsearch.indices.refresh({ index: indexPattern(indexPrefix, stream), ignore_unavailable: true, allow_no_indices: true })
    }
  } catch (error) {
    indexer.abort()
    throw error
  } finally {
    await indexer.close()
  }
  return summaries
}
