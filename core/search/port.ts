import type { SearchNode } from './query/index.ts'

/**
 * The SearchStore port: Kibana-style search over raw log lines and notification events. Two
 * adapters answer it with the same hits in the same order: Elasticsearch (distributed mode) and
 * ClickHouse (embedded mode, and whenever ELASTICSEARCH_URL is unset). The query arrives parsed;
 * user text only ever reaches a backend as a value.
 */
export type SearchStream = 'log' | 'notification'

/** Hits are ordered by time, then event id (as text), both in the requested direction. */
export type SearchOrder = 'desc' | 'asc'

/** The sort key of a hit: where the next page starts (keyset, like search_after). */
export interface SearchPosition {
  readonly ts: number
  readonly eventId: string
}

export interface SearchRequest {
  readonly stream: SearchStream
  /** From the read key, never from a parameter. */
  readonly projectId: string
  readonly query: SearchNode
  /** Event time, ms; from inclusive, to exclusive. */
  readonly fromMs: number
  readonly toMs: number
  readonly order: SearchOrder
  readonly size: number
  readonly after?: SearchPosition
}

export interface SearchHit {
  readonly eventId: string
  readonly ts: number
  /** Every field of the event as stored, attributes aside; absent optional fields are ''. */
  readonly fields: Readonly<Record<string, string>>
  readonly attributes: Readonly<Record<string, string>>
}

export interface SearchPage {
  readonly hits: readonly SearchHit[]
  /** Matches in the whole range, counted exactly up to `TOTAL_LIMIT`, beyond that a lower bound. */
  readonly total: { readonly value: number; readonly relation: 'eq' | 'gte' }
  /** Present when there may be more hits: pass it back as `after`. */
  readonly next?: SearchPosition
}

/** Log lines around one line, from the same service and host. */
export interface ContextRequest {
  readonly projectId: string
  readonly eventId: string
  /** Where to look for the anchor line: its event time is known to the caller only roughly. */
  readonly fromMs: number
  readonly toMs: number
  readonly before: number
  readonly after: number
}

export interface ContextResult {
  readonly anchor: SearchHit
  /** Oldest first, all strictly before the anchor in (ts, event id) order. */
  readonly before: readonly SearchHit[]
  /** Oldest first, all strictly after the anchor. */
  readonly after: readonly SearchHit[]
}

export const TOTAL_LIMIT = 10_000

/** Context lines are looked for within a day either side of the anchor, so the stores can prune. */
export const CONTEXT_SPAN_MS = 86_400_000

export interface SearchStore {
  readonly backend: 'elasticsearch' | 'clickhouse'
  search(request: SearchRequest): Promise<SearchPage>
  /** Undefined when the project has no such line in the range. */
  context(request: ContextRequest): Promise<ContextResult | undefined>
}
