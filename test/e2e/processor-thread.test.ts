import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CLICKSTREAM } from '../../processors/jobs/clickstream.ts'
import { mapDifferences, matchesClickstream, storedClickstream } from '../support/aggregates.ts'
import { clickstreamOracle, groundTruthStream } from '../support/ground-truth.ts'
import { eventually, startTestPipeline, TEST_OPERATOR_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

const EVENTS = 30_000
const PARTITIONS = 4
const operator = { authorization: `Bearer ${TEST_OPERATOR_KEY}` }

/**
 * `eddy start` with EDDY_PROCESSOR_THREAD=worker: the processors on a worker thread, reaching the
 * main thread's embedded log and chDB through ports. Exactness, health, metrics and the operator
 * reprocess must be what they are with everything on one thread.
 */
describe('the processors on a thread of their own', () => {
  let eddy: TestPipeline
  beforeAll(async () => {
    eddy = await startTestPipeline({ EDDY_PARTITIONS: String(PARTITIONS), EDDY_PROCESSOR_THREAD: 'worker' })
  }, 120_000)
  afterAll(async () => {
    await eddy?.stop()
  }, 60_000)

  const post = async (payloads: readonly Record<string, unknown>[], writeKey: string) => {
    const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
    for (let start = 0; start < payloads.length; start += 500) {
      const response = await fetch(`${eddy.url}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch: payloads.slice(start, start + 500) }) })
      expect(response.status, await response.text()).toBe(202)
    }
  }

  it('stores the aggregates an independent computation gives, and reports the jobs in health and metrics', async () => {
    const stream = groundTruthStream({ seed: 23, events: EVENTS, startMs: Date.now() - 12 * 3_600_000, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM })
    await post(stream.payloads, TEST_WRITE_KEY)
    await post(stream.flush, 'test-write-key-b')
    const oracle = clickstreamOracle(stream.clicks)
    const clickhouse = await eddy.runtime.clickhouse()
    const stored = await eventually(() => storedClickstream(clickhouse, 'eddy', 'alpha'), (s) => matchesClickstream(oracle, s), 120_000)
    expect(mapDifferences(oracle.clicks1m, stored.clicks1m), 'clicks_1m').toEqual([])
    expect(mapDifferences(oracle.sessions, stored.sessions), 'sessions').toEqual([])
    expect(mapDifferences(oracle.transitions, stored.transitions), 'page_transitions_1h').toEqual([])

    // Health reads the thread's jobs: every partition of every job, positioned at the end of its input.
    const health = await eventually(
      async () => (await (await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: operator })).json()) as { lag: number; jobs: Array<{ job: string; partition: number; position: number }>; sink: { inserts: number } },
      (h) => h.lag === 0,
      60_000,
    )
    expect(new Set(health.jobs.filter((job) => job.job === 'clickstream').map((job) => job.partition))).toEqual(new Set([0, 1, 2, 3]))
    expect(health.jobs.filter((job) => job.job === 'clickstream').reduce((sum, job) => sum + job.position, 0)).toBe(stream.payloads.length + stream.flush.length)
    expect(health.sink.inserts).toBeGreaterThan(0)

    const ready = await fetch(`${eddy.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ checks: { bus: true, processors: true } })

    // What the thread counts joins the process's /metrics, and the process's own series appear once.
    const metrics = await (await fetch(`${eddy.url}/metrics`, { headers: operator })).text()
    const processed = metrics.split('\n').find((line) => line.startsWith('eddy_processed_records_total{job="clickstream"}'))
    expect(Number(processed?.split(' ')[1])).toBe(stream.payloads.length + stream.flush.length)
    expect(metrics.split('\n').filter((line) => line.startsWith('process_cpu_seconds_total ')).length).toBe(1)
    // Each thread's heap under its own label: the processors' state is on theirs, not the main one's.
    for (const thread of ['main', 'processors']) {
      const live = metrics.split('\n').find((line) => line.startsWith(`eddy_thread_heap_live_bytes{thread="${thread}"}`))
      expect(Number(live?.split(' ')[1]), thread).toBeGreaterThan(1024 * 1024)
      expect(metrics, thread).toContain(`eddy_thread_event_loop_delay_p99_seconds{thread="${thread}"}`)
    }
  }, 300_000)

  it('runs an operator reprocess on the processors thread, with progress and a summary', async () => {
    const now = Date.now()
    const started = await fetch(`${eddy.url}/api/v1/pipeline/reprocess`, {
      method: 'POST',
      headers: { ...operator, 'content-type': 'application/json' },
      body: JSON.stringify({ fromMs: now - 13 * 3_600_000, toMs: now - 6 * 3_600_000, stream: 'click', writeKey: TEST_WRITE_KEY }),
    })
    expect(started.status, await started.clone().text()).toBe(202)
    const { id } = (await started.json()) as { id: string }
    const run = await eventually(
      async () => (await (await fetch(`${eddy.url}/api/v1/pipeline/reprocess/${id}`, { headers: operator })).json()) as { state: string; summary?: { streams: { click?: { events: number } } } },
      (r) => r.state !== 'running',
      120_000,
    )
    expect(run.state).toBe('finished')
    expect(run.summary?.streams.click?.events).toBeGreaterThan(0)
  }, 180_000)
})
