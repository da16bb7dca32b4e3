import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { METRICS } from '../../core/metrics/index.ts'
import { LiveTestClient } from '../support/live-client.ts'
import { parseExposition, sampleValue } from '../support/prometheus.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

let eddy: TestPipeline
beforeAll(async () => {
  eddy = await startTestPipeline()
})
afterAll(async () => {
  await eddy?.stop()
})

const basic = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`
const post = (path: string, body: string, headers: Record<string, string> = { authorization: basic }) =>
  fetch(`${eddy.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })

async function scrape() {
  const response = await fetch(`${eddy.url}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parseExposition(await response.text())
}

const valueOf = sampleValue

describe('GET /metrics on a running pipeline', () => {
  const visitor = `metrics-visitor-${Date.now()}`

  it('exports every catalogue metric, with the type the catalogue gives it', async () => {
    const scraped = await scrape()
    for (const definition of Object.values(METRICS)) expect(scraped.types.get(definition.name), definition.name).toBe(definition.type)
    expect(valueOf(scraped, 'process_resident_memory_bytes')).toBeGreaterThan(0)
  })

  it('counts what ingest accepted and refused, by stream, route and reason', async () => {
    const now = Date.now()
    const batch = Array.from({ length: 5 }, (_, index) => ({ type: 'page', anonymousId: visitor, messageId: `${visitor}-${index}`, timestamp: new Date(now - 1_000 + index).toISOString(), properties: { url: `https://shop.example/p${index}` } }))
    expect((await post('/v1/batch', JSON.stringify({ batch }))).status).toBe(202)
    const logs = '{"service":"metrics","message":"one"}\n{"service":"metrics","message":"two"}\n{"service":"metrics","level":42}'
    const partial = await post('/v1/logs', logs, { authorization: basic, 'content-type': 'application/x-ndjson' })
    expect(partial.status).toBe(202)
    expect((await post('/v1/batch', JSON.stringify({ batch: [{ type: 'nonsense' }] }))).status).toBe(400)
    expect((await post('/v1/track', JSON.stringify({ anonymousId: 'x', event: 'E' }), {})).status).toBe(401)

    const scraped = await scrape()
    expect(valueOf(scraped, 'eddy_ingest_events_total', { stream: 'click' })).toBe(5)
    expect(valueOf(scraped, 'eddy_ingest_events_total', { stream: 'log' })).toBe(2)
    expect(valueOf(scraped, 'eddy_ingest_requests_total', { route: '/v1/batch', status: '202' })).toBe(1)
    expect(valueOf(scraped, 'eddy_ingest_requests_total', { route: '/v1/batch', status: '400' })).toBe(1)
    expect(valueOf(scraped, 'eddy_ingest_requests_total', { route: '/v1/logs', status: '202' })).toBe(1)
    expect(valueOf(scraped, 'eddy_ingest_requests_total', { route: '/v1/track', status: '401' })).toBe(1)
    expect(valueOf(scraped, 'eddy_ingest_rejections_total', { reason: 'invalid_events' })).toBe(1)
    expect(valueOf(scraped, 'eddy_ingest_rejections_total', { reason: 'unauthorized' })).toBe(1)
    expect(valueOf(scraped, 'eddy_ingest_rejections_total', { reason: 'invalid_line' })).toBe(1)
    // One acknowledged send per accepted request; the refused ones never reached the log.
    expect(valueOf(scraped, 'eddy_produce_duration_seconds_count', { topic: 'eddy.clicks' })).toBe(1)
    expect(valueOf(scraped, 'eddy_produce_duration_seconds_bucket', { topic: 'eddy.clicks', le: '+Inf' })).toBe(1)
    const produceSeconds = valueOf(scraped, 'eddy_produce_duration_seconds_sum', { topic: 'eddy.clicks' })!
    expect(produceSeconds).toBeGreaterThan(0)
    expect(produceSeconds).toBeLessThan(10)
    // Scrapes and health checks are not ingest requests.
    for (const sample of scraped.samples.get('eddy_ingest_requests_total') ?? []) expect(sample.labels.route).toMatch(/^\/v1\//)
  })

  it('reports the processors: sink inserts, lag, watermark delay and window state', async () => {
    const scraped = await eventually(scrape, (s) => (valueOf(s, 'eddy_sink_batch_rows_sum', { table: 'eddy.events_click' }) ?? 0) >= 5
      && valueOf(s, 'eddy_consumer_lag', { group: 'eddy-clickstream' }) === 0)
    expect(valueOf(scraped, 'eddy_sink_batch_rows_sum', { table: 'eddy.events_click' })).toBe(5)
    expect(valueOf(scraped, 'eddy_sink_insert_duration_seconds_count', { table: 'eddy.events_click' })).toBeGreaterThan(0)
    expect(valueOf(scraped, 'eddy_sink_insert_duration_seconds_sum', { table: 'eddy.events_click' })).toBeGreaterThan(0)
    expect(valueOf(scraped, 'eddy_sink_failures_total')).toBeUndefined()
    // One instance owns every partition of each group, so it reports all of them.
    const partitions = eddy.runtime.config.topics.partitions
    expect(scraped.samples.get('eddy_consumer_lag')!.filter((s) => s.labels.group === 'eddy-clickstream' && s.labels.topic === 'eddy.clicks')).toHaveLength(partitions)
    expect(scraped.samples.get('eddy_processing_lag')!.filter((s) => s.labels.group === 'eddy-clickstream' && s.labels.topic === 'eddy.clicks')).toHaveLength(partitions)
    // The visitor's partition has a watermark a little behind its newest event (out-of-orderness).
    const delays = scraped.samples.get('eddy_watermark_delay_seconds')!.filter((s) => s.labels.job === 'clickstream')
    expect(delays).toHaveLength(1)
    expect(delays[0]!.value).toBeGreaterThan(0)
    expect(delays[0]!.value).toBeLessThan(3_600)
    expect(valueOf(scraped, 'eddy_window_state_bytes', { job: 'clickstream' })).toBeGreaterThan(0)
  })

  it('counts late events and dead letters where the runner routes them', async () => {
    // Three hours behind the visitor's watermark: past the allowed lateness of every window.
    const old = { type: 'page', anonymousId: visitor, messageId: `${visitor}-late`, timestamp: new Date(Date.now() - 3 * 3_600_000).toISOString(), properties: { url: 'https://shop.example/old' } }
    expect((await post('/v1/batch', JSON.stringify({ batch: [old] }))).status).toBe(202)
    const bus = await eddy.runtime.bus()
    await bus.producer().send(eddy.runtime.config.topics.click, [{ key: 'garbage', value: Buffer.from('not an avro record') }])
    const scraped = await eventually(scrape, (s) => (valueOf(s, 'eddy_late_events_total', { job: 'clickstream' }) ?? 0) >= 1 && (valueOf(s, 'eddy_dlq_events_total', { job: 'clickstream' }) ?? 0) >= 1)
    expect(valueOf(scraped, 'eddy_late_events_total', { job: 'clickstream' })).toBe(1)
    expect(valueOf(scraped, 'eddy_dlq_events_total', { job: 'clickstream' })).toBe(1)
  })

  it('times api requests by route pattern, not by /metrics, and counts WebSocket clients', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString()
    const to = new Date(Date.now() + 60_000).toISOString()
    const answer = await fetch(`${eddy.url}/api/v1/events/count?stream=click&from=${from}&to=${to}`, { headers: { authorization: `Bearer ${TEST_READ_KEY}` } })
    expect(answer.status).toBe(200)
    const client = await LiveTestClient.connect(eddy.url, { key: TEST_READ_KEY })
    try {
      await client.waitFor((message) => message.type === 'hello')
      const scraped = await scrape()
      expect(valueOf(scraped, 'eddy_api_request_duration_seconds_count', { route: '/api/v1/events/count', status: '200' })).toBe(1)
      expect(valueOf(scraped, 'eddy_api_request_duration_seconds_count', { route: '/metrics' })).toBeUndefined()
      expect(valueOf(scraped, 'eddy_live_clients')).toBe(1)
    } finally {
      client.socket.close()
      await client.closed
    }
    expect(valueOf(await eventually(scrape, (s) => valueOf(s, 'eddy_live_clients') === 0), 'eddy_live_clients')).toBe(0)
  })
})
