import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { generateTraffic } from '../../traffic/generator.ts'
import { eventIdsOf, reportFaultCounts } from '../support/fault-report.ts'
import { describeWithService } from '../support/services.ts'
import { eventually, startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const KAFKA = join(import.meta.dirname, '../../infra/kafka/kafka.sh')
const kafka = (...args: string[]) => execFileSync('bash', [KAFKA, ...args], { encoding: 'utf8', timeout: 120_000 }).trim()

// A broker of its own (the shared one from KAFKA_BROKERS must not be stopped under other suites);
// the suite runs where the Kafka infrastructure is, i.e. wherever KAFKA_BROKERS is set.
describeWithService('kafka', 'KAFKA_BROKERS', 'broker stopped mid-ingest', () => {
  const directory = temporaryDirectory('broker-down')
  let eddy: TestPipeline
  beforeAll(async () => {
    const brokers = kafka('start', directory.path).replace(/^KAFKA_BROKERS=/, '')
    eddy = await startTestPipeline({ KAFKA_BROKERS: brokers, EDDY_TOPIC_PREFIX: `down-${Date.now()}` })
  }, 180_000)
  afterAll(async () => {
    await eddy?.stop()
    try {
      kafka('stop', directory.path)
    } finally {
      directory.remove()
    }
  }, 120_000)

  it('answers 503 with Retry-After and turns not ready, never 202 without the broker; afterwards every event is stored once', async () => {
    const events = generateTraffic({ seed: 17, events: 6_000, startMs: Date.now() - 3_600_000, spanMs: 3_600_000, mix: { click: 1, log: 0, notification: 0 } })
    const batches: unknown[][] = []
    for (let start = 0; start < events.length; start += 100) batches.push(events.slice(start, start + 100).map((e) => e.payload))
    const authorization = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`
    const statuses: number[] = []
    let retryAfterOn503 = true
    let notReadySeen = false
    let brokerDown = false

    for (const [index, batch] of batches.entries()) {
      if (index === Math.floor(batches.length / 3)) {
        kafka('stop', directory.path)
        brokerDown = true
      }
      // The client retries a 503 as Segment's libraries do, until it is accepted.
      for (let attempt = 0; ; attempt++) {
        const response = await fetch(`${eddy.url}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) })
        statuses.push(response.status)
        await response.arrayBuffer()
        if (response.status === 202) break
        expect(response.status).toBe(503)
        retryAfterOn503 &&= response.headers.get('retry-after') !== null
        if (brokerDown) {
          notReadySeen ||= (await fetch(`${eddy.url}/readyz`)).status === 503
          if (attempt >= 3) {
            // The outage has been seen from the client side; bring the broker back.
            kafka('start', directory.path)
            brokerDown = false
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    }

    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0)
    expect(retryAfterOn503).toBe(true)
    expect(notReadySeen).toBe(true)
    expect((await fetch(`${eddy.url}/readyz`)).status).toBe(200)

    const clickhouse = await eddy.runtime.clickhouse()
    // Every batch was retried until it was answered 202, so every event sent was acknowledged.
    const counts = await reportFaultCounts(clickhouse, 'broker-down', {
      sent: events.length,
      streams: [{ table: 'eddy.events_click', where: "project_id = 'alpha'", acknowledged: eventIdsOf('click', 'alpha', events.map((e) => e.payload)) }],
      extra: { requests: statuses.length, refused503: statuses.filter((s) => s === 503).length },
      timeoutMs: 120_000,
    })
    expect(counts).toMatchObject({ acknowledged: new Set(events.map((e) => e.payload.messageId)).size, lost: 0, duplicates: 0, unacknowledged: 0 })
    const pageviews = events.filter((e) => e.payload.type === 'page').length
    const aggregated = await eventually(async () => {
      const [row] = await (await clickhouse.query({ query: "SELECT sum(pageviews) AS n FROM eddy.clicks_1m FINAL WHERE project_id = 'alpha' AND dimension = 'total'", format: 'JSONEachRow' })).json<{ n: string }>()
      return Number(row!.n)
    }, (n) => n === pageviews, 120_000)
    expect(aggregated).toBe(pageviews)
  }, 600_000)
})
