/**
 * Log search over 1,000,000 lines on both backends: ClickHouse (chDB, the embedded default) always,
 * Elasticsearch when ELASTICSEARCH_URL is set (its indexing rate too). Each query runs `repeats`
 * times after one warm-up; the figure is p50/p99 of the store call, as the api makes it.
 */
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { createClickHouseClient } from '../core/clickhouse/client.ts'
import { migrate } from '../core/clickhouse/migrate.ts'
import { ClickHouseSearchStore } from '../core/search/clickhouse/store.ts'
import { createElasticsearchClient } from '../core/search/elasticsearch/client.ts'
import { BulkIndexer } from '../core/search/elasticsearch/indexer.ts'
import { installIndexTemplates, templateName } from '../core/search/elasticsearch/indices.ts'
import { ElasticsearchSearchStore } from '../core/search/elasticsearch/store.ts'
import type { SearchStore } from '../core/search/port.ts'
import { parseSearchQuery, SEARCH_SCHEMAS } from '../core/search/query/index.ts'
import { CORPUS_START_MS, generateLogs } from '../core/search/test-corpus.ts'
import { RAW_ROW } from '../processors/sinks/raw-rows.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { percentile, round } from './stats.ts'

const HOUR = 3_600_000
const logger = pino({ level: 'silent' })

/** Selective queries people run, each over the range they run it on. */
const QUERIES: ReadonlyArray<{ name: string; q: string; hours: number }> = [
  { name: 'errors of one service with a phrase, 24h', q: 'level:error service:checkout "connection refused"', hours: 24 },
  { name: 'one word, not info, 24h', q: 'timeout -level:info', hours: 24 },
  { name: 'attribute and host, 7d', q: 'attributes.tier:gold host:db_1 refused', hours: 168 },
  { name: 'newest lines, no query, 1h', q: '', hours: 1 },
]

export interface SearchFigures {
  readonly lines: number
  readonly clickhouse: { readonly loadSeconds: number; readonly queries: Record<string, { p50Ms: number; p99Ms: number; hits: number }> }
  readonly elasticsearch?: { readonly docsPerSec: number; readonly queries: Record<string, { p50Ms: number; p99Ms: number; hits: number }> }
}

export async function benchSearch(options: { lines?: number; repeats?: number; elasticsearchUrl?: string; onProgress?: (line: string) => void } = {}): Promise<SearchFigures> {
  const lines = options.lines ?? 1_000_000
  const repeats = options.repeats ?? 50
  const log = options.onProgress ?? (() => undefined)
  const directory = temporaryDirectory('bench-search')
  const clickhouse = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy' } })
  try {
    await migrate(clickhouse, { database: 'eddy', retentionDays: 3650, logger })
    let lastTs = CORPUS_START_MS
    const started = performance.now()
    let batch: Record<string, unknown>[] = []
    let loaded = 0
    for (const event of generateLogs(lines)) {
      batch.push(RAW_ROW.log(event))
      lastTs = event.ts
      if (batch.length === 50_000) {
        await clickhouse.insert({ table: 'eddy.events_log', values: batch, format: 'JSONEachRow' })
        loaded += batch.length
        batch = []
        log(`search: ClickHouse ${loaded.toLocaleString('en')}/${lines.toLocaleString('en')} lines`)
      }
    }
    if (batch.length > 0) await clickhouse.insert({ table: 'eddy.events_log', values: batch, format: 'JSONEachRow' })
    await clickhouse.command({ query: 'OPTIMIZE TABLE eddy.events_log FINAL' })
    const loadSeconds = round((performance.now() - started) / 1_000)
    const clickhouseStore = new ClickHouseSearchStore(async (built) => (await clickhouse.query({ query: built.query, query_params: built.params, format: 'JSONEachRow' })).json(), 'eddy')
    const figures: { -readonly [K in keyof SearchFigures]: SearchFigures[K] } = {
      lines,
      clickhouse: { loadSeconds, queries: await runQueries(clickhouseStore, lastTs, repeats, (line) => log(`search: ClickHouse ${line}`)) },
    }
    if (options.elasticsearchUrl) figures.elasticsearch = await benchElasticsearch(options.elasticsearchUrl, lines, lastTs, repeats, log)
    return figures
  } finally {
    await clickhouse.close()
    directory.remove()
  }
}

async function benchElasticsearch(url: string, lines: number, lastTs: number, repeats: number, log: (line: string) => void) {
  const client = createElasticsearchClient(url)
  const prefix = `bench${Date.now().toString(36)}`
  try {
    await installIndexTemplates(client, prefix, logger)
    const indexer = new BulkIndexer({ client, prefix, maxBatchDocs: 5_000, flushIntervalMs: 50, logger })
    const started = performance.now()
    let batch: ReturnType<typeof generateLogs> extends Generator<infer T> ? T[] : never = []
    let indexed = 0
    const inFlight: Promise<unknown>[] = []
    for (const event of generateLogs(lines)) {
      batch.push(event)
      if (batch.length === 5_000) {
        inFlight.push(indexer.index('log', batch))
        batch = []
        // Two bulks in flight: enough to keep the node busy without queueing the whole corpus.
        if (inFlight.length >= 2) await inFlight.shift()
        indexed += 5_000
        if (indexed % 50_000 === 0) log(`search: Elasticsearch ${indexed.toLocaleString('en')}/${lines.toLocaleString('en')} documents`)
      }
    }
    inFlight.push(indexer.index('log', batch))
    await Promise.all(inFlight)
    await client.indices.refresh({ index: `${prefix}-*` })
    const docsPerSec = Math.round(lines / ((performance.now() - started) / 1_000))
    await indexer.close()
    await client.indices.forcemerge({ index: `${prefix}-*`, max_num_segments: 1 })
    const store = new ElasticsearchSearchStore(client, prefix)
    return { docsPerSec, queries: await runQueries(store, lastTs, repeats, (line) => log(`search: Elasticsearch ${line}`)) }
  } finally {
    const indices = await client.cat.indices({ index: `${prefix}-*`, format: 'json', h: 'index' }) as Array<{ index: string }>
    for (const { index } of indices) await client.indices.delete({ index })
    for (const stream of ['log', 'notification'] as const) await client.indices.deleteIndexTemplate({ name: templateName(prefix, stream) }).catch(() => undefined)
    await client.close()
  }
}

async function runQueries(store: SearchStore, lastTs: number, repeats: number, log: (line: string) => void) {
  const results: Record<string, { p50Ms: number; p99Ms: number; hits: number }> = {}
  for (const { name, q, hours } of QUERIES) {
    const parsed = parseSearchQuery(q, SEARCH_SCHEMAS.log)
    if (!parsed.ok) throw new Error(`${q}: ${parsed.reason}`)
    const request = { stream: 'log' as const, projectId: 'alpha', query: parsed.query, fromMs: lastTs - hours * HOUR, toMs: lastTs + 1, order: 'desc' as const, size: 50 }
    const first = await store.search(request)
    const times: number[] = []
    for (let run = 0; run < repeats; run++) {
      const started = performance.now()
      await store.search(request)
      times.push(performance.now() - started)
    }
    results[name] = { p50Ms: round(percentile(times, 50)), p99Ms: round(percentile(times, 99)), hits: first.total.value }
    log(`${name}: p99 ${results[name]!.p99Ms} ms (${first.total.value} matches)`)
  }
  return results
}
