import type { Client } from '@elastic/elasticsearch'
import { page } from '../page.ts'
import type { ContextRequest, ContextResult, SearchPage, SearchRequest, SearchStore, SearchStream } from '../port.ts'
import { CONTEXT_SPAN_MS, TOTAL_LIMIT } from '../port.ts'
import { SEARCH_SCHEMAS, toElasticsearchQuery, type SearchNode } from '../query/index.ts'
import { hitFromSource } from './documents.ts'
import { indexPattern } from './indices.ts'

interface RawHit {
  readonly _source?: Record<string, unknown>
}

/**
 * Search on Elasticsearch: a bool filter (project from the key, time range, the translated query;
 * no scoring, hits are ordered by time) over the stream's monthly indices, paged with
 * `search_after` on (ts, event_id).
 */
/**
 * Like the ClickHouse queries' max_execution_time: a search that takes longer is too expensive.
 * Enforced by the client: Elasticsearch's own `timeout` would return partial hits instead.
 */
const SEARCH_OPTIONS = { requestTimeout: 10_000 }

export class ElasticsearchSearchStore implements SearchStore {
  readonly backend = 'elasticsearch' as const

  constructor(private readonly client: Client, private readonly prefix: string) {}

  async search(request: SearchRequest): Promise<SearchPage> {
    const response = await this.client.search({
      index: indexPattern(this.prefix, request.stream),
      ignore_unavailable: true,
      allow_no_indices: true,
      query: this.filter(request.stream, request.projectId, request.fromMs, request.toMs, request.query),
      sort: sortBy(request.order),
      ...(request.after ? { search_after: [request.after.ts, request.after.eventId] } : {}),
      size: request.size + 1,
      track_total_hits: TOTAL_LIMIT,
    }, SEARCH_OPTIONS)
    const hits = (response.hits.hits as RawHit[]).map((hit) => hitFromSource(request.stream, hit._source ?? {}))
    const total = response.hits.total
    const value = typeof total === 'number' ? total : (total?.value ?? 0)
    const relation = typeof total === 'object' && total.relation === 'gte' ? 'gte' : 'eq'
    return page(hits, request.size, { value: Math.min(value, TOTAL_LIMIT), relation: value > TOTAL_LIMIT ? 'gte' : relation })
  }

  async context(request: ContextRequest): Promise<ContextResult | undefined> {
    const index = indexPattern(this.prefix, 'log')
    const found = await this.client.search({
      index,
      ignore_unavailable: true,
      query: allOf({ term: { project_id: request.projectId } }, { term: { event_id: request.eventId } }, { range: { ts: { gte: request.fromMs, lt: request.toMs } } }),
      size: 1,
    }, SEARCH_OPTIONS)
    const source = (found.hits.hits as RawHit[])[0]?._source
    if (!source) return undefined
    const anchor = hitFromSource('log', source)
    const near = async (order: 'asc' | 'desc', size: number) => {
      if (size === 0) return []
      const response = await this.client.search({
        index,
        ignore_unavailable: true,
        query: allOf(
          { term: { project_id: request.projectId } },
          { term: { service: anchor.fields.service } },
          { term: { host: anchor.fields.host } },
          { range: { ts: { gte: anchor.ts - CONTEXT_SPAN_MS, lte: anchor.ts + CONTEXT_SPAN_MS } } },
        ),
        sort: sortBy(order),
        search_after: [anchor.ts, anchor.eventId],
        size,
      }, SEARCH_OPTIONS)
      return (response.hits.hits as RawHit[]).map((hit) => hitFromSource('log', hit._source ?? {}))
    }
    const [before, after] = await Promise.all([near('desc', request.before), near('asc', request.after)])
    return { anchor, before: before.reverse(), after }
  }

  private filter(stream: SearchStream, projectId: string, fromMs: number, toMs: number, query: SearchNode) {
    return allOf({ term: { project_id: projectId } }, { range: { ts: { gte: fromMs, lt: toMs } } }, toElasticsearchQuery(query, SEARCH_SCHEMAS[stream]))
  }
}

function sortBy(order: 'asc' | 'desc'): Array<Record<string, { order: 'asc' | 'desc' }>> {
  return [{ ts: { order } }, { event_id: { order } }]
}

/** Every clause must match, none scores (filter context: cacheable, no relevance). */
function allOf(...clauses: object[]) {
  return { bool: { filter: clauses } }
}
