import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Client } from '@elastic/elasticsearch'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RAW_ROW } from '../../../processors/sinks/raw-rows.ts'
import { temporaryDirectory } from '../../../test/support/temp-dir.ts'
import { createClickHouseClient, type ClickHouseClient } from '../../clickhouse/client.ts'
import { migrate } from '../../clickhouse/migrate.ts'
import { searchDocument } from '../elasticsearch/documents.ts'
import { BulkIndexer, documentId } from '../elasticsearch/indexer.ts'
import type { SearchEvent } from '../fields.ts'
import type { SearchStream } from '../port.ts'
import { CORPUS_PROJECTS, CORPUS_START_MS, logCorpus, notificationCorpus } from '../test-corpus.ts'
import { ReindexProgressFile, type ReindexTarget } from './progress-file.ts'
import { ClickHouseRawEvents, type RawEventSource } from './raw-events.ts'
import { reindexStream, type DocumentSink, type ReindexStreamOptions } from './reindex.ts'

const logger = pino({ level: 'silent' })
const directory = temporaryDirectory('reindex')
const logs = logCorpus(400)
const notifications = notificationCorpus(240)
let client: ClickHouseClient
let source: ClickHouseRawEvents

beforeAll(async () => {
  client = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy' } })
  await migrate(client, { database: 'eddy', retentionDays: 3650, logger })
  // A third of the lines twice, in a part of their own, as a replay leaves them before a merge.
  await client.insert({ table: 'eddy.events_log', values: logs.map(RAW_ROW.log), format: 'JSONEachRow' })
  await client.insert({ table: 'eddy.events_log', values: logs.filter((_, index) => index % 3 === 0).map(RAW_ROW.log), format: 'JSONEachRow' })
  await client.insert({ table: 'eddy.events_notification', values: notifications.map(RAW_ROW.notification), format: 'JSONEachRow' })
  source = new ClickHouseRawEvents(client, 'eddy')
})
afterAll(async () => {
  await client?.close()
  directory.remove()
})

/** A sink that keeps what it was given; `fail(call)` makes that call (1-based) fail. */
function recordingSink(fail: (call: number) => boolean = () => false) {
  const batches: SearchEvent<SearchStream>[][] = []
  let calls = 0
  const sink: DocumentSink = {
    async index(_stream, events) {
      calls += 1
      if (fail(calls)) throw new Error('Elasticsearch went away')
      batches.push([...events])
      return []
    },
  }
  return { sink, batches, indexed: () => batches.flat() }
}

let runs = 0
function options(target: ReindexTarget, sink: DocumentSink, overrides: Partial<ReindexStreamOptions> = {}): ReindexStreamOptions {
  return { source, sink, target, progressFile: new ReindexProgressFile(join(directory.path, 'reindex'), target), batchSize: 10, pageSize: 37, batchesInFlight: 3, logger, ...overrides }
}

/** A fresh range each time (the end moves by a millisecond), so runs never share a resume point. */
function wholeCorpus(stream: SearchStream, projectIds: readonly string[] = CORPUS_PROJECTS): ReindexTarget {
  runs += 1
  return { stream, fromMs: CORPUS_START_MS - 60_000, toMs: CORPUS_START_MS + 86_400_000 + runs, projectIds, indexPrefix: 'eddy' }
}

const inSearchOrder = <E extends { ts: number; event_id: string }>(events: readonly E[]) =>
  [...events].sort((a, b) => a.ts - b.ts || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0))

describe('reindexing the raw tables', () => {
  it('hands on each raw event as the live indexer got it, once, in event-time order, page after page', async () => {
    for (const [stream, corpus] of [['log', logs], ['notification', notifications]] as const) {
      const { sink, batches, indexed } = recordingSink()
      const summary = await reindexStream(options(wholeCorpus(stream), sink))
      const expected = inSearchOrder<SearchEvent<SearchStream>>(corpus)
      expect(summary).toMatchObject({ stream, done: corpus.length, total: corpus.length, rejected: 0, resumedAfter: 0 })
      expect(indexed().map((event) => documentId(event))).toEqual(expected.map((event) => documentId(event)))
      // The documents are what matters: nulls in the event are '' in ClickHouse, the same in the document.
      expect(indexed().map((event) => searchDocument(stream, event))).toEqual(expected.map((event) => searchDocument(stream, event)))
      expect(batches.every((batch) => batch.length <= 10)).toBe(true)
    }
  })

  it('reads only the range (from inclusive, to exclusive) and the projects asked for', async () => {
    const sorted = inSearchOrder(logs)
    const fromMs = sorted[50]!.ts
    const toMs = sorted[300]!.ts
    const { sink, indexed } = recordingSink()
    const target: ReindexTarget = { stream: 'log', fromMs, toMs, projectIds: ['beta'], indexPrefix: 'eddy' }
    await reindexStream(options(target, sink))
    expect(indexed().map((event) => event.event_id)).toEqual(sorted.filter((event) => event.project_id === 'beta' && event.ts >= fromMs && event.ts < toMs).map((event) => event.event_id))
  })

  it('after a failure mid-way, the same run again continues after the last batch fully indexed: nothing missing', async () => {
    const target = wholeCorpus('log')
    const expected = inSearchOrder(logs).map((event) => event.event_id)
    const first = recordingSink((call) => call === 9)
    await expect(reindexStream(options(target, first.sink))).rejects.toThrow('Elasticsearch went away')
    const progressFile = new ReindexProgressFile(join(directory.path, 'reindex'), target)
    // Batches 1–8 were acknowledged in order; those sent after the failing one do not count.
    expect(progressFile.load()).toEqual({ after: { ts: expect.any(Number), eventId: expected[79], projectId: expect.any(String) }, indexed: 80, rejected: 0 })

    const second = recordingSink()
    const summary = await reindexStream(options(target, second.sink))
    expect(summary).toMatchObject({ resumedAfter: 80, done: logs.length - 80, total: logs.length - 80 })
    expect(second.indexed().map((event) => event.event_id)).toEqual(expected.slice(80))
    expect(existsSync(progressFile.path)).toBe(false)

    // Complete: the next run starts from the beginning again.
    const third = recordingSink()
    await reindexStream(options(target, third.sink))
    expect(third.indexed().map((event) => event.event_id)).toEqual(expected)
  })

  it('pages past events that share ts and event id in two projects (a client\'s own UUID, sent to both)', async () => {
    // Far from the corpus, so no other test's range holds them.
    const ts = Date.UTC(2030, 0, 1)
    const shared = '0f0e0d0c-0b0a-4908-8706-050403020100'
    const twins = ['alpha', 'beta'].flatMap((projectId) => [shared, 'ffffffff-0000-4000-8000-000000000000'].map((eventId) => ({ ...logs[0]!, event_id: eventId, project_id: projectId, ts })))
    await client.insert({ table: 'eddy.events_log', values: twins.map(RAW_ROW.log), format: 'JSONEachRow' })
    const target: ReindexTarget = { stream: 'log', fromMs: ts, toMs: ts + 1, projectIds: ['alpha', 'beta'], indexPrefix: 'eddy' }
    const { sink, indexed } = recordingSink()
    // One row a page: every page ends on a tie.
    await reindexStream(options(target, sink, { pageSize: 1, batchSize: 1 }))
    expect(indexed().map((event) => `${event.project_id}/${event.event_id}`).sort()).toEqual(twins.map((event) => `${event.project_id}/${event.event_id}`).sort())
  })

  it('reads on from the last event read when ClickHouse breaks off a page', async () => {
    let reads = 0
    const flaky: RawEventSource = {
      count: (range, after) => source.count(range, after),
      async *read(range, after, limit) {
        reads += 1
        let given = 0
        for await (const event of source.read(range, after, limit)) {
          if (reads === 2 && given === 5) throw new Error('socket hang up')
          given += 1
          yield event
        }
      },
    }
    const { sink, indexed } = recordingSink()
    await reindexStream(options(wholeCorpus('log'), sink, { source: flaky }))
    expect(indexed().map((event) => event.event_id)).toEqual(inSearchOrder(logs).map((event) => event.event_id))
    expect(reads).toBeGreaterThan(logs.length / 37 + 1)
  })

  it('reports the documents Elasticsearch refuses, with the reason, and indexes the rest', async () => {
    const refusedIds = new Set(inSearchOrder(notifications).filter((_, index) => index % 50 === 7).map((event) => documentId(event)))
    const sent: string[] = []
    const elasticsearch = {
      async bulk({ operations }: { operations: string[] }) {
        const ids = operations.filter((_, index) => index % 2 === 0).map((line) => JSON.parse(line).index._id as string)
        sent.push(...ids)
        const items = ids.map((id) => (refusedIds.has(id)
          ? { index: { status: 400, error: { type: 'document_parsing_exception', reason: '[error_message] failed to parse' } } }
          : { index: { status: 201 } }))
        return { errors: items.some((item) => item.index.status >= 400), items }
      },
    } as unknown as Client
    const indexer = new BulkIndexer({ client: elasticsearch, prefix: 'eddy', maxBatchDocs: 10, flushIntervalMs: 5, logger })
    const reported: string[] = []
    const target = wholeCorpus('notification')
    const summary = await reindexStream(options(target, indexer, { onRejected: (documents) => reported.push(...documents.map((document) => `${document.projectId}/${document.eventId}`)) }))
    await indexer.close()

    expect(new Set(sent)).toEqual(new Set(notifications.map((event) => documentId(event))))
    expect(reported.sort()).toEqual([...refusedIds].sort())
    expect(summary).toMatchObject({ done: notifications.length, rejected: refusedIds.size, rejectedPath: expect.any(String) })
    const report = readFileSync(summary.rejectedPath!, 'utf8').trim().split('\n').map((line) => JSON.parse(line))
    expect(report).toHaveLength(refusedIds.size)
    expect(report[0]).toEqual({ eventId: expect.any(String), projectId: expect.any(String), ts: expect.any(Number), reason: 'document_parsing_exception: [error_message] failed to parse' })
  })
})
