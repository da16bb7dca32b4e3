import { parseArgs } from 'node:util'
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startPipeline } from '../../cli/pipeline.ts'
import { createRuntime } from '../../cli/runtime.ts'
import { loadConfig, type Environment } from '../../core/config/index.ts'
import { createElasticsearchClient, type ElasticsearchClient } from '../../core/search/elasticsearch/client.ts'
import { indexPattern } from '../../core/search/elasticsearch/indices.ts'
import { ElasticsearchSearchStore } from '../../core/search/elasticsearch/store.ts'
import type { SearchStream } from '../../core/search/port.ts'
import { parseSearchQuery, SEARCH_SCHEMAS } from '../../core/search/query/index.ts'
import { reindexCommand } from '../../cli/commands/reindex.ts'
import { eventually, TEST_READ_KEY, TEST_WRITE_KEY } from '../support/pipeline.ts'
import { describeWithService } from '../support/services.ts'
import { shipperLogLines } from '../support/shipper-lines.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const BETA_WRITE_KEY = 'test-write-key-b'
const PROJECTS = JSON.stringify([
  { id: 'alpha', writeKeys: [TEST_WRITE_KEY], readKeys: [TEST_READ_KEY] },
  { id: 'beta', writeKeys: [BETA_WRITE_KEY], readKeys: ['test-read-key-b'] },
])
const DAY = 86_400_000

describeWithService('elasticsearch', 'ELASTICSEARCH_URL', 'eddy reindex', (url) => {
  const directory = temporaryDirectory('reindex-e2e')
  const run = Date.now().toString(36)
  /** Index prefixes of this run: live indexing, a reindex of everything, a reindex of one project. */
  const prefixes = { live: `live${run}`, reindexed: `reidx${run}`, beta: `beta${run}` }
  const nowMs = Date.now()
  // Lines 40 days old too: another monthly index, and late for the aggregates (search has them all).
  const [fromMs, toMs] = [nowMs - 60 * DAY, nowMs + DAY]
  const counts = { log: 0, notification: 0 }
  const elasticsearch: ElasticsearchClient = createElasticsearchClient(url)
  const environment = (prefix: string): Environment => ({
    EDDY_DATA_DIR: directory.path, EDDY_PROJECTS: PROJECTS, EDDY_TOPIC_PREFIX: prefix, ELASTICSEARCH_URL: url, LOG_LEVEL: 'warn',
  })

  beforeAll(async () => {
    // A live-indexed deployment; its ClickHouse is then what a deployment without Elasticsearch holds.
    const config = loadConfig({ ...environment(prefixes.live), PORT: '0', HOST: '127.0.0.1', EDDY_SINK_FLUSH_MS: '50', EDDY_RATE_LIMIT_API_BURST: '0' })
    const runtime = createRuntime(config, pino({ level: 'error' }))
    const pipeline = await startPipeline(runtime, { ingest: true, process: true, api: true })
    try {
      const send = async (path: string, key: string, body: string, type = 'application/x-ndjson') => {
        const response = await fetch(`${pipeline.url}${path}`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, 'content-type': type }, body })
        expect(response.status, await response.text()).toBe(202)
      }
      const alphaLines = [...shipperLogLines('checkout', 70, nowMs - 3_600_000, { traced: true }), ...shipperLogLines('billing', 20, nowMs - 40 * DAY, { traced: true })]
      const betaLines = shipperLogLines('web', 15, nowMs - 7_200_000, { traced: true })
      const sent = notificationEvents(36, nowMs - 1_800_000)
      await send('/v1/logs', TEST_WRITE_KEY, alphaLines.join('\n'))
      await send('/v1/logs', BETA_WRITE_KEY, betaLines.join('\n'))
      await send('/v1/notifications', TEST_WRITE_KEY, JSON.stringify(sent), 'application/json')
      counts.log = alphaLines.length + betaLines.length
      counts.notification = sent.length
      const clickhouse = await runtime.clickhouse()
      for (const stream of ['log', 'notification'] as const) {
        const table = stream === 'log' ? 'events_log' : 'events_notification'
        const raw = await eventually(async () => Number((await (await clickhouse.query({ query: `SELECT count() AS n FROM eddy.${table} FINAL`, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n), (n) => n === counts[stream])
        expect(raw).toBe(counts[stream])
        const indexed = await eventually(() => documentCount(prefixes.live, stream), (n) => n === counts[stream])
        expect(indexed).toBe(counts[stream])
      }
    } finally {
      // Stopped: the embedded ClickHouse is free for `eddy reindex`, a process of its own.
      await pipeline.stop()
    }
  }, 180_000)

  afterAll(async () => {
    for (const prefix of Object.values(prefixes)) {
      // Deletes name their indices: Elasticsearch refuses wildcards there (action.destructive_requires_name).
      const indices = await elasticsearch.cat.indices({ index: `${prefix}-*`, format: 'json', h: 'index' }) as Array<{ index: string }>
      for (const { index } of indices) await elasticsearch.indices.delete({ index })
      for (const stream of ['logs', 'notifications']) await elasticsearch.indices.deleteIndexTemplate({ name: `${prefix}-${stream}` }).catch(() => undefined)
    }
    await elasticsearch.close()
    directory.remove()
  })

  /**
   * `eddy reindex` as cli/main.ts runs it (its options parsed, configuration from the environment),
   * in this process: the pipeline above has let go of the embedded ClickHouse.
   */
  async function reindex(prefix: string, ...args: string[]) {
    const argv = ['--from', new Date(fromMs).toISOString(), '--to', new Date(toMs).toISOString(), '--batch', '9', ...args]
    const { values } = parseArgs({ args: argv, options: reindexCommand.options, allowPositionals: false })
    const printed: string[] = []
    const code = await reindexCommand.run({ config: loadConfig(environment(prefix)), logger: pino({ level: 'warn' }), values, print: (line) => printed.push(line) })
    expect(code, 'exit code: 0, nothing refused').toBe(0)
    return printed.join('\n')
  }

  /** The documents of a prefix's indices; -1 while a new index has no started shard yet (polled again). */
  async function documentCount(prefix: string, stream: SearchStream): Promise<number> {
    try {
      await elasticsearch.indices.refresh({ index: indexPattern(prefix, stream), ignore_unavailable: true, allow_no_indices: true })
      return (await elasticsearch.count({ index: indexPattern(prefix, stream), ignore_unavailable: true, allow_no_indices: true })).count
    } catch (error) {
      if (`${(error as Error).message} ${JSON.stringify((error as { body?: unknown }).body ?? '')}`.includes('no_shard_available_action_exception')) return -1
      throw error
    }
  }

  /** Every document of a prefix: its monthly index (without the prefix), _id and _source. */
  async function documents(prefix: string, stream: SearchStream) {
    await elasticsearch.indices.refresh({ index: indexPattern(prefix, stream) })
    const response = await elasticsearch.search({ index: indexPattern(prefix, stream), size: 1_000, sort: [{ ts: 'asc' }, { event_id: 'asc' }] })
    return response.hits.hits.map((hit) => ({ index: hit._index.slice(prefix.length), id: hit._id, source: hit._source }))
  }

  /** The answers the api's search store gives on a prefix's indices. */
  async function answers(prefix: string) {
    const store = new ElasticsearchSearchStore(elasticsearch, prefix)
    const questions: Array<[SearchStream, string, string]> = [
      ['log', 'alpha', ''], ['log', 'alpha', '"connection refused" -level:info'], ['log', 'alpha', 'service:billing OR attributes.region:eu'],
      ['log', 'beta', 'GET'], ['notification', 'alpha', ''], ['notification', 'alpha', 'mailbox status:bounced'], ['notification', 'beta', ''],
    ]
    const pages = []
    for (const [stream, projectId, text] of questions) {
      const parsed = parseSearchQuery(text, SEARCH_SCHEMAS[stream])
      if (!parsed.ok) throw new Error(parsed.reason)
      pages.push(await store.search({ stream, projectId, query: parsed.query, fromMs, toMs, order: 'desc', size: 200 }))
    }
    return pages
  }

  it('a search after eddy reindex returns what the live-indexed deployment returns', async () => {
    const printed = await reindex(prefixes.reindexed)
    expect(printed).toContain(`Reindexed ${counts.log} log lines; 0 refused.`)
    expect(printed).toContain(`Reindexed ${counts.notification} notification events; 0 refused.`)

    const live = await answers(prefixes.live)
    expect(live[0]!.total.value).toBe(90)
    expect(live[1]!.hits.length).toBeGreaterThan(0)
    expect(await answers(prefixes.reindexed)).toEqual(live)
    for (const stream of ['log', 'notification'] as const) {
      expect(await documents(prefixes.reindexed, stream)).toEqual(await documents(prefixes.live, stream))
    }
  })

  it('reindexing again, or over the live-indexed documents, changes nothing', async () => {
    const before = { live: { log: await documents(prefixes.live, 'log'), notification: await documents(prefixes.live, 'notification') } }
    await reindex(prefixes.reindexed)
    await reindex(prefixes.live)
    for (const stream of ['log', 'notification'] as const) {
      expect(await documentCount(prefixes.reindexed, stream)).toBe(counts[stream])
      expect(await documentCount(prefixes.live, stream)).toBe(counts[stream])
      expect(await documents(prefixes.live, stream)).toEqual(before.live[stream])
      expect(await documents(prefixes.reindexed, stream)).toEqual(before.live[stream])
    }
  })

  it('limits the reindex to one stream and the project of --write-key', async () => {
    const printed = await reindex(prefixes.beta, '--stream', 'log', '--write-key', BETA_WRITE_KEY)
    expect(printed).toBe('Reindexed 15 log lines; 0 refused.')
    const betaLive = (await documents(prefixes.live, 'log')).filter((document) => (document.source as { project_id: string }).project_id === 'beta')
    expect(await documents(prefixes.beta, 'log')).toEqual(betaLive)
    expect(await documentCount(prefixes.beta, 'notification')).toBe(0)
  })
})

/** Notification lifecycles: sent, then delivered or bounced (with an error message). */
function notificationEvents(count: number, startMs: number) {
  return Array.from({ length: count }, (_, index) => {
    const bounced = index % 6 === 5
    return {
      notification_id: `n-${Math.floor(index / 2)}`,
      channel: 'email',
      provider: 'sendgrid',
      template: index % 3 === 0 ? 'welcome' : 'receipt',
      status: index % 2 === 0 ? 'sent' : bounced ? 'bounced' : 'delivered',
      timestamp: new Date(startMs + index * 2_000).toISOString(),
      ...(bounced ? { error_code: '550', error_message: 'Mailbox unavailable' } : {}),
      ...(index % 4 === 0 ? { user_id: `u${index}` } : {}),
    }
  })
}
