import { afterAll, beforeAll, expect, it } from 'vitest'
import { generateTraffic } from '../../traffic/generator.ts'
import { sendRequests, toRequests } from '../../traffic/sender.ts'
import { describeWithService } from '../support/services.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline, TEST_OPERATOR_KEY } from '../support/pipeline.ts'

describeWithService('kafka', 'KAFKA_BROKERS', 'end to end on Kafka: HTTP → Kafka → processors → ClickHouse', (brokers) => {
  let eddy: TestPipeline
  beforeAll(async () => {
    // A topic prefix per run keeps runs against a shared broker apart.
    eddy = await startTestPipeline({ KAFKA_BROKERS: brokers, EDDY_TOPIC_PREFIX: `eddy-test-${Date.now()}` })
  })
  afterAll(async () => {
    await eddy?.stop()
  })

  it('stores 5,000 events exactly once, duplicates once, and reports no lag', async () => {
    const now = Date.now()
    const events = generateTraffic({ seed: 31, events: 5_000, startMs: now - 3_600_000, spanMs: 3_600_000 })
    const requests = toRequests(events, 100)
    const withRetries = requests.flatMap((request, index) => (index % 7 === 0 ? [request, request] : [request]))
    const result = await sendRequests(withRetries, { baseUrl: eddy.url, writeKey: TEST_WRITE_KEY, batchSize: 100, concurrency: 4 })
    expect(result.rejected).toBe(0)
    const clickhouse = await eddy.runtime.clickhouse()
    const expected = { click: 0, log: 0, notification: 0 }
    for (const event of events) expected[event.stream] += 1
    for (const [stream, table] of [['click', 'events_click'], ['log', 'events_log'], ['notification', 'events_notification']] as const) {
      const count = await eventually(async () => {
        const rows = await (await clickhouse.query({ query: `SELECT count() AS n FROM eddy.${table} FINAL WHERE project_id = 'alpha'`, format: 'JSONEachRow' })).json<{ n: string }>()
        return Number(rows[0]!.n)
      }, (n) => n >= expected[stream], 60_000)
      expect(count, stream).toBe(expected[stream])
    }
    const lag = await eventually(async () => ((await (await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}` } })).json()) as { lag: number }).lag, (n) => n === 0, 60_000)
    expect(lag).toBe(0)
    const pageviews = await eventually(async () => {
      const rows = await (await clickhouse.query({ query: "SELECT sum(pageviews) AS n FROM eddy.clicks_1m FINAL WHERE project_id = 'alpha' AND dimension = 'total'", format: 'JSONEachRow' })).json<{ n: string }>()
      return Number(rows[0]!.n)
    }, (n) => n === events.filter((e) => e.stream === 'click' && e.payload.type === 'page').length, 60_000)
    expect(pageviews).toBe(events.filter((e) => e.stream === 'click' && e.payload.type === 'page').length)
  }, 180_000)
})
