import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClickHouseSearchStore } from '../../core/search/clickhouse/store.ts'
import { parseSearchQuery, SEARCH_SCHEMAS } from '../../core/search/query/index.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'
import { describeWithService } from '../support/services.ts'
import { shipperLogLines } from '../support/shipper-lines.ts'

const basic = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`

/** One service per run, so runs never see each other's lines. */
const lines = (service: string, count: number, startMs: number) => shipperLogLines(service, count, startMs).join('\n')

interface Page {
  backend: string
  total: { value: number; relation: string }
  hits: Array<{ event_id: string; ts: string; fields: Record<string, string>; attributes: Record<string, string>; highlight?: Array<[number, number]> }>
  next_cursor: string | null
}

function client(eddy: TestPipeline, key = TEST_READ_KEY) {
  return async (path: string) => {
    const response = await fetch(`${eddy.url}${path}`, { headers: { authorization: `Bearer ${key}` } })
    return { status: response.status, type: response.headers.get('content-type'), body: await response.json() as any }
  }
}

async function ingest(eddy: TestPipeline, body: string) {
  const response = await fetch(`${eddy.url}/v1/logs`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-ndjson' }, body })
  expect(response.status).toBe(202)
}

/** Every hit of a search, page after page through next_cursor. */
async function allPages(get: ReturnType<typeof client>, path: string): Promise<Page['hits']> {
  const hits: Page['hits'] = []
  let cursor: string | null = null
  do {
    const { status, body } = await get(`${path}&size=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    expect(status, JSON.stringify(body)).toBe(200)
    hits.push(...(body as Page).hits)
    cursor = (body as Page).next_cursor
  } while (cursor)
  return hits
}

describe('search api on the embedded defaults (ClickHouse)', () => {
  let eddy: TestPipeline
  const service = `search-${Date.now()}`
  const startMs = Date.now() - 3_600_000
  beforeAll(async () => {
    eddy = await startTestPipeline()
    await ingest(eddy, lines(service, 60, startMs))
  })
  afterAll(async () => {
    await eddy?.stop()
  })

  it('finds the lines, newest first, page by page, with the matched words highlighted', async () => {
    const get = client(eddy)
    const query = `/api/v1/logs/search?q=${encodeURIComponent(`service:${service} "connection refused" -level:info`)}&period=24h`
    const first = await eventually(() => get(`${query}&size=7`), ({ body }) => body.total?.value === 6)
    expect(first.body).toMatchObject({ backend: 'clickhouse', total: { value: 6, relation: 'eq' } })
    const hits = await allPages(get, query)
    // Lines 5, 15, …, 55 mention the refusal; of those, levels cycle info, info, warn, error.
    const expected = [5, 15, 25, 35, 45, 55].filter((index) => index % 4 >= 2).concat([10, 30, 50].filter((index) => index % 4 >= 2))
    expect(hits.map((hit) => hit.fields.message).sort()).toEqual(expected.map((index) => `Connection refused to db-${index % 7}:5432 (attempt ${index})`).sort())
    expect(hits.map((hit) => hit.ts)).toEqual([...hits.map((hit) => hit.ts)].sort().reverse())
    const hit = hits[0]!
    expect(hit.highlight!.map(([start, end]) => hit.fields.message!.slice(start, end))).toEqual(['Connection', 'refused'])
  })

  it('answers the lines around a line from its service and host', async () => {
    const get = client(eddy)
    const all = await allPages(get, `/api/v1/logs/search?q=${encodeURIComponent(`service:${service} host:web-1`)}&period=24h&order=asc`)
    expect(all).toHaveLength(20)
    const { status, body } = await get(`/api/v1/logs/context?id=${all[10]!.event_id}&before=3&after=2`)
    expect(status).toBe(200)
    expect(body.line.event_id).toBe(all[10]!.event_id)
    expect(body.before.map((line: Page['hits'][number]) => line.event_id)).toEqual(all.slice(7, 10).map((line) => line.event_id))
    expect(body.after.map((line: Page['hits'][number]) => line.event_id)).toEqual(all.slice(11, 13).map((line) => line.event_id))
    const missing = await get('/api/v1/logs/context?id=00000000-0000-4000-8000-000000000000')
    expect(missing).toMatchObject({ status: 404, type: expect.stringMatching(/^application\/problem\+json/), body: { code: 'API_LINE_NOT_FOUND' } })
  })

  it('refuses a bad query, a too long range and a cursor of another search with the field and the reason', async () => {
    const get = client(eddy)
    const unknownField = await get('/api/v1/logs/search?q=colour:red')
    expect(unknownField).toMatchObject({ status: 400, type: expect.stringMatching(/^application\/problem\+json/), body: { code: 'API_INVALID_REQUEST', errors: [{ field: 'querystring/q' }] } })
    expect(unknownField.body.errors[0].reason).toMatch(/colour/)
    expect((await get('/api/v1/logs/search?q=service:a*b')).body.errors[0].field).toBe('querystring/q')
    expect((await get('/api/v1/logs/search?q=%22unclosed')).status).toBe(400)
    expect((await get('/api/v1/logs/search?period=90d')).body).toMatchObject({ code: 'API_INVALID_REQUEST', errors: [{ field: 'querystring/period', reason: 'a search may cover at most 31 days' }] })
    const page = await get(`/api/v1/logs/search?q=service:${service}&size=2`)
    const wrongList = await get(`/api/v1/notifications/search?cursor=${encodeURIComponent(page.body.next_cursor)}`)
    expect(wrongList.body.errors[0]).toEqual({ field: 'querystring/cursor', reason: 'belongs to another list or sort order' })
    expect((await get('/api/v1/logs/search?size=501')).status).toBe(400)
  })

  it('shows a project only its own lines, and a write key nothing', async () => {
    const other = await client(eddy, 'test-read-key-b')(`/api/v1/logs/search?q=service:${service}`)
    expect(other.body).toMatchObject({ total: { value: 0 }, hits: [] })
    expect((await client(eddy, TEST_WRITE_KEY)('/api/v1/logs/search')).status).toBe(401)
  })
})

describeWithService('elasticsearch', 'ELASTICSEARCH_URL', 'search api on Elasticsearch', (url) => {
  let eddy: TestPipeline
  const service = `search-es-${Date.now()}`
  const prefix = `e2e${Date.now().toString(36)}`
  const startMs = Date.now() - 3_600_000
  beforeAll(async () => {
    eddy = await startTestPipeline({ ELASTICSEARCH_URL: url, EDDY_TOPIC_PREFIX: prefix })
    await ingest(eddy, lines(service, 80, startMs))
  })
  afterAll(async () => {
    const elasticsearch = eddy?.runtime.elasticsearch()
    if (elasticsearch) {
      const indices = await elasticsearch.cat.indices({ index: `${prefix}-*`, format: 'json', h: 'index' }) as Array<{ index: string }>
      for (const { index } of indices) await elasticsearch.indices.delete({ index })
      for (const name of [`${prefix}-logs`, `${prefix}-notifications`]) await elasticsearch.indices.deleteIndexTemplate({ name }).catch(() => undefined)
    }
    await eddy?.stop()
  })

  it('indexes what ingest accepted and answers exactly what ClickHouse answers', async () => {
    const get = client(eddy)
    const query = `service:${service} (refused OR level:warn) -attributes.region:us`
    const path = `/api/v1/logs/search?q=${encodeURIComponent(query)}&period=24h`
    await eventually(() => get(`/api/v1/logs/search?q=${encodeURIComponent(`service:${service}`)}&period=24h`), ({ body }) => body.total?.value === 80)
    const fromElasticsearch = await allPages(get, path)
    expect((await get(path)).body.backend).toBe('elasticsearch')

    // The same question to ClickHouse's raw rows, which the same processors wrote.
    const clickhouse = await eddy.runtime.clickhouse()
    const store = new ClickHouseSearchStore(async (built) => (await clickhouse.query({ query: built.query, query_params: built.params, format: 'JSONEachRow' })).json(), 'eddy')
    const parsed = parseSearchQuery(query, SEARCH_SCHEMAS.log)
    if (!parsed.ok) throw new Error(parsed.reason)
    const fromClickHouse = await store.search({ stream: 'log', projectId: 'alpha', query: parsed.query, fromMs: startMs - 60_000, toMs: Date.now() + 60_000, order: 'desc', size: 500 })
    expect(fromElasticsearch.length).toBeGreaterThan(5)
    expect(fromElasticsearch.map((hit) => [hit.event_id, Date.parse(hit.ts), hit.fields, hit.attributes])).toEqual(
      fromClickHouse.hits.map((hit) => [hit.eventId, hit.ts, hit.fields, hit.attributes]))
  })
})
