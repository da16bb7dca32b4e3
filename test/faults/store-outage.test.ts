import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CLICKSTREAM } from '../../processors/jobs/clickstream.ts'
import { mapDifferences, matchesClickstream, storedClickstream } from '../support/aggregates.ts'
import { eventIdsOf, reportFaultCounts } from '../support/fault-report.ts'
import { clickstreamOracle, groundTruthStream } from '../support/ground-truth.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline, TEST_OPERATOR_KEY } from '../support/pipeline.ts'

let eddy: TestPipeline
beforeAll(async () => {
  eddy = await startTestPipeline({ EDDY_PARTITIONS: '4' })
})
afterAll(async () => {
  await eddy?.stop()
})

const post = async (payloads: readonly Record<string, unknown>[], key: string) => {
  const authorization = `Basic ${Buffer.from(`${key}:`).toString('base64')}`
  for (let start = 0; start < payloads.length; start += 500) {
    const response = await fetch(`${eddy.url}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch: payloads.slice(start, start + 500) }) })
    expect(response.status).toBe(202)
  }
}
const health = async () => (await (await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}` } })).json()) as { lag: number; consumers: Array<{ group: string; lag: number }> }

describe('ClickHouse unavailable mid-run', () => {
  it('pauses, commits nothing past what was written, and ends with the same result', async () => {
    const clickhouse = await eddy.runtime.clickhouse()
    let down = false
    let refused = 0
    // The store fails every insert while "down", as a server that is unreachable would, whichever
    // way the rows go in: JSON through insert(), Avro through an INSERT statement (command() on
    // the embedded engine, exec() with a body on a server).
    const refuse = () => {
      refused += 1
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' })
    }
    const insert = clickhouse.insert.bind(clickhouse)
    clickhouse.insert = (async (...args: Parameters<typeof insert>) => (down ? refuse() : insert(...args))) as typeof clickhouse.insert
    for (const method of ['command', 'exec'] as const) {
      const original = clickhouse[method].bind(clickhouse) as (params: { query: string }) => Promise<unknown>
      ;(clickhouse as unknown as Record<string, unknown>)[method] = async (params: { query: string }) => (down && /^\s*INSERT\b/i.test(params.query) ? refuse() : original(params))
    }

    const stream = groundTruthStream({ seed: 3, events: 30_000, startMs: Date.now() - 12 * 3_600_000, partitions: 4, settings: DEFAULT_CLICKSTREAM })
    const half = Math.floor(stream.payloads.length / 2)
    await post(stream.payloads.slice(0, half), TEST_WRITE_KEY)
    down = true
    // Ingest keeps accepting: the log is up, only the store is down.
    await post(stream.payloads.slice(half), TEST_WRITE_KEY)
    await post(stream.flush, 'test-write-key-b')
    const during = await eventually(health, (h) => h.lag > 0 && refused > 0, 30_000)
    expect(refused).toBeGreaterThan(0)
    expect(during.lag).toBeGreaterThan(0)
    down = false

    const settled = await eventually(health, (h) => h.lag === 0, 60_000)
    expect(settled.lag).toBe(0)
    const oracle = clickstreamOracle(stream.clicks)
    const stored = await eventually(() => storedClickstream(clickhouse, 'eddy', 'alpha'), (s) => matchesClickstream(oracle, s), 30_000)
    expect(mapDifferences(oracle.clicks1m, stored.clicks1m), 'clicks_1m').toEqual([])
    expect(mapDifferences(oracle.sessions, stored.sessions), 'sessions').toEqual([])
    expect(mapDifferences(oracle.transitions, stored.transitions), 'page_transitions_1h').toEqual([])
    // post() expects every batch to be answered 202: every event sent was acknowledged.
    const counts = await reportFaultCounts(clickhouse, 'store-outage', {
      sent: stream.payloads.length,
      streams: [{ table: 'eddy.events_click', where: "project_id = 'alpha'", acknowledged: eventIdsOf('click', 'alpha', stream.payloads) }],
      extra: { resentOnPurpose: stream.duplicates, refusedInserts: refused, lagDuringOutage: during.lag },
    })
    expect(counts).toMatchObject({ lost: 0, duplicates: 0, unacknowledged: 0 })
  }, 300_000)
})
