import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CLICKSTREAM } from '../../processors/jobs/clickstream.ts'
import { mapDifferences, matchesClickstream, storedClickstream } from '../support/aggregates.ts'
import { eventIdsOf, reportFaultCounts } from '../support/fault-report.ts'
import { clickstreamOracle, groundTruthStream } from '../support/ground-truth.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline, TEST_OPERATOR_KEY } from '../support/pipeline.ts'
import { startPrivateServer, type PrivateServer } from '../support/private-server.ts'

/**
 * A real ClickHouse outage: Eddy's processors write to a ClickHouse HTTP server of this test's own
 * (infra/clickhouse: chDB behind ClickHouse's HTTP protocol, as CI's CLICKHOUSE_URL), and that
 * server is killed -9 while clients send. Ingest writes only to the log, so it keeps answering 202;
 * the processors wait, their lag shows the backlog; the server comes back on the same port and
 * data dir and the processors catch up by themselves. store-outage.test.ts tests the same path with
 * refused inserts in process; this one has connections cut mid-insert and a server that restarts.
 */
const EVENTS = 30_000
const PARTITIONS = 4
const PER_REQUEST = 500

describe('fault: the ClickHouse server is killed -9 mid-load and started again', () => {
  let server: PrivateServer
  let eddy: TestPipeline
  beforeAll(async () => {
    server = await startPrivateServer('clickhouse')
    eddy = await startTestPipeline({ CLICKHOUSE_URL: server.url, EDDY_PARTITIONS: String(PARTITIONS) })
  }, 180_000)
  afterAll(async () => {
    // Stopped while the server is still down (a failed run), Eddy gives up its writes after 15 s.
    await eddy?.stop()
    await server?.dispose()
  }, 120_000)

  const health = async () => (await (await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}` } })).json()) as { lag: number; sink: { inserts: number; failures: number } }

  it('keeps acknowledging, shows the backlog, and stores every acknowledged event once with the right aggregates', async () => {
    const stream = groundTruthStream({ seed: 41, events: EVENTS, startMs: Date.now() - 12 * 3_600_000, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM })
    const batches: Record<string, unknown>[][] = []
    for (let start = 0; start < stream.payloads.length; start += PER_REQUEST) batches.push(stream.payloads.slice(start, start + PER_REQUEST))
    const authorization = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`
    const acknowledged: Record<string, unknown>[] = []
    let sent = 0
    let acknowledgedWhileDown = 0
    let down = false
    const post = async (batch: Record<string, unknown>[], key = authorization) => {
      if (key === authorization) sent += batch.length
      const response = await fetch(`${eddy.url}/v1/batch`, { method: 'POST', headers: { authorization: key, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) })
      // Ingest needs the log, not ClickHouse: every request is acknowledged, outage or not.
      expect(response.status, await response.text()).toBe(202)
      if (key !== authorization) return
      acknowledged.push(...batch)
      if (down) acknowledgedWhileDown += batch.length
    }

    const killAt = Math.floor(batches.length / 3)
    const restartAt = Math.floor((2 * batches.length) / 3)
    const outage: Record<string, unknown> = {}
    for (const [index, batch] of batches.entries()) {
      if (index === killAt) {
        // Mid-load: the first third is still being inserted when the server dies.
        await server.kill()
        down = true
        outage.killedAfterEvents = sent
      }
      if (index === restartAt) {
        // The backlog is visible: the lag grows while the inserts fail and nothing is committed.
        const during = await eventually(health, (h) => h.lag > 0 && h.sink.failures > 0, 30_000)
        expect(during.lag).toBeGreaterThan(0)
        expect(during.sink.failures).toBeGreaterThan(0)
        outage.lagWhileDown = during.lag
        outage.insertFailuresWhileDown = during.sink.failures
        // The process ingests, so it stays ready (a load balancer must keep sending events) and
        // says ClickHouse is away; the api answers 503 per query.
        const readyz = await fetch(`${eddy.url}/readyz`)
        outage.readyzWhileDown = readyz.status
        expect(readyz.status).toBe(200)
        expect(await readyz.json()).toMatchObject({ checks: { bus: true, clickhouse: false } })
        outage.apiWhileDown = (await fetch(`${eddy.url}/api/v1/stats/aggregate?period=24h`, { headers: { authorization: `Bearer ${TEST_READ_KEY}` } })).status
        expect(outage.apiWhileDown).toBe(503)
        await server.start()
        down = false
      }
      await post(batch)
    }
    // Moves every partition's watermark past the stream, under another project.
    await post(stream.flush, `Basic ${Buffer.from('test-write-key-b:').toString('base64')}`)
    expect(acknowledgedWhileDown).toBeGreaterThan(0)

    const settled = await eventually(health, (h) => h.lag === 0, 180_000)
    expect(settled.lag).toBe(0)
    expect((await fetch(`${eddy.url}/readyz`)).status).toBe(200)

    const clickhouse = await eddy.runtime.clickhouse()
    const oracle = clickstreamOracle(stream.clicks)
    const stored = await eventually(() => storedClickstream(clickhouse, 'eddy', 'alpha'), (s) => matchesClickstream(oracle, s), 60_000)
    expect(mapDifferences(oracle.clicks1m, stored.clicks1m), 'clicks_1m').toEqual([])
    expect(mapDifferences(oracle.sessions, stored.sessions), 'sessions').toEqual([])
    expect(mapDifferences(oracle.transitions, stored.transitions), 'page_transitions_1h').toEqual([])
    // The headline figure: clicks_1m's total equals the pageviews acknowledged (too-late ones,
    // an hour behind the watermark, go to the late topic by design and are not counted).
    const [total] = await (await clickhouse.query({ query: "SELECT sum(pageviews) AS n FROM eddy.clicks_1m FINAL WHERE project_id = 'alpha' AND dimension = 'total'", format: 'JSONEachRow' })).json<{ n: string }>()
    const pageviews = stream.clicks.filter((click) => click.pageview && click.arrival !== 'too-late').length
    expect(Number(total!.n)).toBe(pageviews)

    const counts = await reportFaultCounts(clickhouse, 'clickhouse-down', {
      sent,
      streams: [{ table: 'eddy.events_click', where: "project_id = 'alpha'", acknowledged: eventIdsOf('click', 'alpha', acknowledged) }],
      extra: { ...outage, acknowledgedWhileDown, resentOnPurpose: stream.duplicates, pageviewsInClicks1m: Number(total!.n) },
    })
    expect(counts).toMatchObject({ acknowledged: new Set(stream.clicks.map((click) => click.messageId)).size, lost: 0, duplicates: 0, unacknowledged: 0 })
  }, 300_000)
})
