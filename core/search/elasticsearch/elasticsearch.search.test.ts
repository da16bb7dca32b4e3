import { createServer, connect, type Server } from 'node:net'
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeWithService } from '../../../test/support/services.ts'
import { searchStoreContract } from '../contract.ts'
import { logCorpus } from '../test-corpus.ts'
import { createElasticsearchClient } from './client.ts'
import { BulkIndexer } from './indexer.ts'
import { dropExpiredIndices, indexPattern, installIndexTemplates, templateName } from './indices.ts'
import { ElasticsearchSearchStore } from './store.ts'

const logger = pino({ level: 'silent' })

describeWithService('elasticsearch', 'ELASTICSEARCH_URL', 'Elasticsearch search and indexing', (url) => {
  const client = createElasticsearchClient(url)
  const prefixes: string[] = []
  const newPrefix = () => {
    const prefix = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
    prefixes.push(prefix)
    return prefix
  }
  const indexer = (prefix: string, target = client) => new BulkIndexer({ client: target, prefix, maxBatchDocs: 500, flushIntervalMs: 20, logger })
  const refresh = (prefix: string) => client.indices.refresh({ index: `${prefix}-*`, allow_no_indices: true })
  const count = async (prefix: string) => (await client.count({ index: indexPattern(prefix, 'log'), allow_no_indices: true })).count

  afterAll(async () => {
    for (const prefix of prefixes) {
      const indices = await client.cat.indices({ index: `${prefix}-*`, format: 'json', h: 'index' }) as Array<{ index: string }>
      for (const { index } of indices) await client.indices.delete({ index })
      for (const stream of ['log', 'notification'] as const) await client.indices.deleteIndexTemplate({ name: templateName(prefix, stream) }).catch(() => undefined)
    }
    await client.close()
  })

  searchStoreContract('Elasticsearch', async () => {
    const prefix = newPrefix()
    await installIndexTemplates(client, prefix, logger)
    const writer = indexer(prefix)
    return {
      store: new ElasticsearchSearchStore(client, prefix),
      async load(logs, notifications) {
        const rejected = [...(await writer.index('log', logs)), ...(await writer.index('notification', notifications))]
        expect(rejected).toEqual([])
        await refresh(prefix)
      },
    }
  })

  it('indexes a replay onto the same documents: one per event, in the index of its month', async () => {
    const prefix = newPrefix()
    await installIndexTemplates(client, prefix, logger)
    const events = logCorpus(300, 3)
    const writer = indexer(prefix)
    await writer.index('log', events)
    await writer.index('log', events.slice(100))
    await refresh(prefix)
    expect(await count(prefix)).toBe(300)
    const indices = (await client.cat.indices({ index: `${prefix}-*`, format: 'json', h: 'index' }) as Array<{ index: string }>).map(({ index }) => index).sort()
    expect(indices).toEqual([`${prefix}-logs-2026.10`, `${prefix}-logs-2026.11`])
    await writer.close()
  })

  it('hands back the documents Elasticsearch refuses, with the reason, and indexes the rest of the bulk', async () => {
    const prefix = newPrefix()
    await installIndexTemplates(client, prefix, logger)
    const [good, badShape, badTime] = logCorpus(3, 5)
    const malformed = { ...badShape!, message: { not: 'text' } } as never
    const beyondTime = { ...badTime!, ts: 9e15 }
    const rejected = await indexer(prefix).index('log', [good!, malformed, beyondTime])
    expect(rejected.map(({ event, reason }) => [event.event_id, reason.split(':')[0]])).toEqual([
      [badShape!.event_id, 'document_parsing_exception'],
      [badTime!.event_id, 'invalid_index_name_exception'],
    ])
    await refresh(prefix)
    expect(await count(prefix)).toBe(1)
  })

  it('drops the months past retention and keeps the month the cutoff falls in', async () => {
    const prefix = newPrefix()
    await installIndexTemplates(client, prefix, logger)
    const [base] = logCorpus(1, 13)
    const at = (iso: string, id: string) => ({ ...base!, ts: Date.parse(iso), event_id: id })
    await indexer(prefix).index('log', [
      at('2026-06-30T23:59:59Z', '00000000-0000-4000-8000-000000000001'),
      at('2026-07-15T00:00:00Z', '00000000-0000-4000-8000-000000000002'),
      at('2026-08-01T00:00:00Z', '00000000-0000-4000-8000-000000000003'),
    ])
    // 30 days before 2026-08-10 is 2026-07-11: June is wholly older, July is not.
    const dropped = await dropExpiredIndices(client, prefix, 30, Date.parse('2026-08-10T00:00:00Z'), logger)
    expect(dropped).toEqual([`${prefix}-logs-2026.06`])
    const left = (await client.cat.indices({ index: `${prefix}-*`, format: 'json', h: 'index' }) as Array<{ index: string }>).map(({ index }) => index).sort()
    expect(left).toEqual([`${prefix}-logs-2026.07`, `${prefix}-logs-2026.08`])
  })

  it('waits while Elasticsearch cannot be reached and indexes everything once it can', async () => {
    const prefix = newPrefix()
    await installIndexTemplates(client, prefix, logger)
    const target = new URL(url)
    // A port that refuses connections until the proxy behind it opens.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as { port: number }).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const unreachable = createElasticsearchClient(`http://127.0.0.1:${port}`)
    const writer = indexer(prefix, unreachable)
    let settled = false
    const events = logCorpus(200, 9)
    const indexing = writer.index('log', events).then((rejected) => {
      settled = true
      return rejected
    })
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(settled).toBe(false)
    const proxy: Server = createServer((socket) => {
      const upstream = connect(Number(target.port), target.hostname)
      socket.pipe(upstream).pipe(socket)
      socket.on('error', () => upstream.destroy())
      upstream.on('error', () => socket.destroy())
    })
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve))
    try {
      expect(await indexing).toEqual([])
      await refresh(prefix)
      expect(await count(prefix)).toBe(200)
    } finally {
      await writer.close()
      await unreachable.close()
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
    }
  }, 60_000)
})
