import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CLICKSTREAM } from '../../processors/jobs/clickstream.ts'
import { mapDifferences, matchesClickstream, storedClickstream, storedPerMinute } from '../support/aggregates.ts'
import { clickstreamOracle, eventStream, groundTruthStream, perMinuteOracle, type StreamTruth } from '../support/ground-truth.ts'
import { eventually, startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

const EVENTS = Number(process.env.EDDY_GROUND_TRUTH_EVENTS ?? 200_000)
const PARTITIONS = 4

let eddy: TestPipeline
beforeAll(async () => {
  eddy = await startTestPipeline({ EDDY_PARTITIONS: String(PARTITIONS) })
})
afterAll(async () => {
  await eddy?.stop()
})

async function post(payloads: readonly Record<string, unknown>[], writeKey: string): Promise<void> {
  const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  // One request at a time: per-partition order is then the generated order, which is what fixes
  // each event's fate (on time, late but accepted, too late).
  for (let start = 0; start < payloads.length; start += 500) {
    const response = await fetch(`${eddy.url}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch: payloads.slice(start, start + 500) }) })
    if (response.status !== 202) throw new Error(`batch at ${start}: ${response.status} ${await response.text()}`)
  }
}

async function postOthers(truth: StreamTruth, writeKey: string, items: readonly Record<string, unknown>[]): Promise<void> {
  const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  const path = truth.stream === 'log' ? '/v1/logs' : '/v1/notifications'
  for (let start = 0; start < items.length; start += 500) {
    const response = await fetch(`${eddy.url}${path}`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(items.slice(start, start + 500)) })
    if (response.status !== 202) throw new Error(`${path} at ${start}: ${response.status} ${await response.text()}`)
  }
}

describe(`ground truth: ${EVENTS.toLocaleString('en-US')} clickstream events with disorder, duplicates and late events`, () => {
  it('stores aggregates equal to an independent computation', async () => {
    const stream = groundTruthStream({ seed: 11, events: EVENTS, startMs: Date.now() - 12 * 3_600_000, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM })
    const oracle = clickstreamOracle(stream.clicks)
    expect(stream.duplicates).toBeGreaterThan(0)
    expect(stream.clicks.filter((c) => c.arrival === 'too-late').length).toBeGreaterThan(0)
    expect(stream.clicks.filter((c) => c.arrival === 'late-accepted').length).toBeGreaterThan(0)

    await post(stream.payloads, TEST_WRITE_KEY)
    await post(stream.flush, 'test-write-key-b')

    const clickhouse = await eddy.runtime.clickhouse()
    const stored = await eventually(
      () => storedClickstream(clickhouse, 'eddy', 'alpha'),
      (s) => matchesClickstream(oracle, s),
      120_000,
    )
    expect(mapDifferences(oracle.clicks1m, stored.clicks1m), 'clicks_1m').toEqual([])
    expect(mapDifferences(oracle.sessions, stored.sessions), 'sessions').toEqual([])
    expect(mapDifferences(oracle.transitions, stored.transitions), 'page_transitions_1h').toEqual([])

    // Too-late events are not in the aggregates, but their raw rows are stored and they are on the late topic.
    const unique = new Set(stream.clicks.map((c) => c.messageId)).size
    const raw = await (await clickhouse.query({ query: "SELECT count() AS n FROM eddy.events_click FINAL WHERE project_id = 'alpha'", format: 'JSONEachRow' })).json<{ n: string }>()
    expect(Number(raw[0]!.n)).toBe(unique)
    const bus = await eddy.runtime.bus()
    const late = (await bus.admin().topicOffsets('eddy.late')).reduce((sum, p) => sum + p.high - p.low, 0)
    // So are late-accepted pageviews: the windows still count them, but a visitor's path cannot
    // take a page behind the watermark, and its transition waits for convergence (reprocess).
    expect(late).toBe(stream.clicks.filter((c) => c.arrival === 'too-late' || (c.arrival === 'late-accepted' && c.pageview)).length)
  }, 600_000)

  it('logs_1m and notifications_1m equal an independent computation', async () => {
    const startMs = Date.now() - 12 * 3_600_000
    const logs = eventStream('log', { seed: 12, events: EVENTS / 4, startMs, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM })
    const notifications = eventStream('notification', { seed: 13, events: EVENTS / 4, startMs, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM })
    expect(logs.tooLate).toBeGreaterThan(0)
    for (const truth of [logs, notifications]) {
      await postOthers(truth, TEST_WRITE_KEY, truth.payloads)
      await postOthers(truth, 'test-write-key-b', truth.flush)
    }
    const clickhouse = await eddy.runtime.clickhouse()
    for (const truth of [logs, notifications]) {
      const expected = perMinuteOracle(truth)
      const stored = await eventually(() => storedPerMinute(clickhouse, 'eddy', 'alpha', truth.stream), (s) => mapDifferences(expected, s).length === 0, 120_000)
      expect(mapDifferences(expected, stored), `${truth.stream} per minute`).toEqual([])
    }
  }, 600_000)
})
