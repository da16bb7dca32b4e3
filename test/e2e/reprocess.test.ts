import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runReprocess } from '../../cli/commands/reprocess.ts'
import { reprocessOverHttp } from '../../cli/transfer/reprocess-over-http.ts'
import { partitionForKey } from '../../core/bus/embedded/murmur2.ts'
import { generateTraffic, type GeneratedEvent } from '../../traffic/generator.ts'
import { sendRequests, toRequests } from '../../traffic/sender.ts'
import { aggregateDifferences, aggregatesFromRaw, storedAggregates, type Aggregates } from '../support/aggregate-truth.ts'
import { describeWithService } from '../support/services.ts'
import { caughtUp, eventually, startTestPipeline, TEST_OPERATOR_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

const MINUTE = 60_000
const PARTITIONS = 4
const PROJECT = 'alpha'
const OTHER_WRITE_KEY = 'test-write-key-b'

let eddy: TestPipeline
let clickhouse: ClickHouseClient

/** A pipeline of its own for the suite, convergence on after `quietMs` or off (0). */
function pipelineFor(quietMs: number, env: Record<string, string> = {}): void {
  beforeAll(async () => {
    eddy = await startTestPipeline({ EDDY_PARTITIONS: String(PARTITIONS), EDDY_CONVERGENCE_QUIET_MS: String(quietMs), ...env })
    clickhouse = await eddy.runtime.clickhouse()
  })
  afterAll(async () => {
    await eddy?.stop()
  })
}

async function send(events: readonly GeneratedEvent[], writeKey: string): Promise<number> {
  const result = await sendRequests(toRequests(events, 50), { baseUrl: eddy.url, writeKey, batchSize: 50, concurrency: 4 })
  if (result.rejected > 0) throw new Error(`${result.rejected} events rejected`)
  return result.accepted
}

/** One event per partition of each stream at `atMs`, under another project: every live watermark moves past the demo. */
function flushEvents(atMs: number): GeneratedEvent[] {
  const timestamp = new Date(atMs).toISOString()
  const events: GeneratedEvent[] = []
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const key = keyFor(partition)
    events.push({ stream: 'click', ts: atMs, payload: { type: 'page', anonymousId: key, messageId: `flush-${key}`, timestamp, properties: { url: 'https://flush.example/' } } })
    events.push({ stream: 'log', ts: atMs, payload: { id: `flush-${key}`, timestamp, service: key, level: 'info', message: 'flush' } })
    events.push({ stream: 'notification', ts: atMs, payload: { notification_id: key, channel: 'email', provider: 'ses', template: 'flush', status: 'queued', timestamp } })
  }
  return events
}

function keyFor(partition: number): string {
  for (let n = 0; ; n++) if (partitionForKey(`flush-${n}`, PARTITIONS) === partition) return `flush-${n}`
}

const rows = async <T>(query: string) => (await clickhouse.query({ query, query_params: { project: PROJECT }, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>()
const stored = () => storedAggregates(clickhouse, PROJECT)
const fromRaw = () => aggregatesFromRaw(clickhouse, PROJECT)

async function rawCount(): Promise<number> {
  const [row] = await rows<{ n: number }>(`SELECT (SELECT count() FROM eddy.events_click FINAL) + (SELECT count() FROM eddy.events_log FINAL) + (SELECT count() FROM eddy.events_notification FINAL) AS n`)
  return Number(row!.n)
}

/** A session's [pageviews, events], from its [end, pageviews, events]. */
const sessionCounts = (session: unknown) => (session as number[]).slice(1)

const differences = (expected: Aggregates, actual: Aggregates) => aggregateDifferences(expected, actual)

/**
 * The README's two demo runs, three hours ago: the second one's older events are past the allowed
 * lateness of the first one's watermark, so the live jobs store them raw and send them to late.
 * Then an event per partition of every stream now (another project) closes every window live.
 */
async function twoDemoRuns(): Promise<{ endMs: number }> {
  const endMs = Math.floor((Date.now() - 3 * 3_600_000) / MINUTE) * MINUTE
  const demo = (seed: number, visitorPrefix: string) => generateTraffic({ seed, events: 4_000, startMs: endMs - 30 * MINUTE, spanMs: 30 * MINUTE, visitorPrefix })
  let sent = await send(demo(42, 'first-'), TEST_WRITE_KEY)
  sent += await send(demo(43, 'second-'), TEST_WRITE_KEY)
  sent += await send(flushEvents(Date.now() - MINUTE), OTHER_WRITE_KEY)
  // Committed offsets move only once a checkpoint's rows are all written: the live aggregates are final.
  expect(await eventually(() => caughtUp(eddy), (done) => done, 120_000)).toBe(true)
  expect(await rawCount()).toBe(sent)
  const bus = await eddy.runtime.bus()
  const lateEvents = (await bus.admin().topicOffsets(eddy.runtime.config.topics.late)).reduce((sum, p) => sum + p.high - p.low, 0)
  expect(lateEvents).toBeGreaterThan(500)
  return { endMs }
}

describe('eddy reprocess: late data reaches the aggregates', () => {
  pipelineFor(0)

  it('after a second demo run half in the past, every aggregate equals a recomputation from the raw tables', async () => {
    const { endMs } = await twoDemoRuns()
    const truth = await fromRaw()
    // Before: the late events are missing from the live aggregates.
    const before = await stored()
    expect(before.clicks1m.size).toBeGreaterThan(1_000)
    expect(Object.keys(differences(truth, before))).toEqual(expect.arrayContaining(['clicks1m', 'sessions', 'transitions', 'active', 'logs1m', 'notifications1m']))

    const summary = await runReprocess(eddy.runtime, { fromMs: endMs - 40 * MINUTE, toMs: endMs + 5 * MINUTE })
    for (const stream of ['click', 'log', 'notification'] as const) expect(summary.streams[stream], stream).toMatchObject({ stillOpen: 0, incomplete: 0, notCounted: 0 })
    expect(summary.streams.click!.tombstones).toBeGreaterThan(0)

    const after = await stored()
    expect(differences(truth, after)).toEqual({})

    // Run again: the same rows, at a newer revision.
    await runReprocess(eddy.runtime, { fromMs: endMs - 40 * MINUTE, toMs: endMs + 5 * MINUTE })
    expect(differences(after, await stored())).toEqual({})
  }, 300_000)
})

/** The case of the issue, converging by itself: the late topic is watched by the pipeline, no command is run. */
async function convergesByItself(): Promise<void> {
  await twoDemoRuns()
  const truth = await fromRaw()
  const converged = await eventually(stored, (now) => Object.keys(differences(truth, now)).length === 0, 120_000)
  expect(differences(truth, converged)).toEqual({})
  const health = await eventually(
    async () => (await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}` } })).json() as Promise<{ convergence?: { pending: unknown[]; runs: number; failures: number; running?: unknown } }>,
    (answer) => answer.convergence?.pending.length === 0 && answer.convergence.running === undefined,
  )
  expect(health.convergence).toMatchObject({ pending: [], failures: 0 })
  expect(health.convergence!.runs).toBeGreaterThanOrEqual(3)
}

describe('automatic convergence: late events recompute their windows without a command', () => {
  pipelineFor(1_000)

  it('the same case converges to the raw tables by itself, and the health says when it is done', convergesByItself, 300_000)
})

/**
 * A visitor active for two hours, one event every ten minutes, whose one late event lands in the
 * second hour: the session it belongs to started an hour before the windows the event reaches,
 * so convergence must start its run where that stored session starts to rewrite it.
 */
describe('automatic convergence: a late event inside a session that began long before', () => {
  pipelineFor(1_000)

  it('rewrites the whole session, started before the late event\'s windows', async () => {
    const hourMs = Math.floor((Date.now() - 5 * 3_600_000) / 3_600_000) * 3_600_000
    const visit = (minute: number): GeneratedEvent => {
      const ts = hourMs + minute * MINUTE
      return { stream: 'click', ts, payload: { type: 'page', anonymousId: 'long-visitor', messageId: `long-${minute}`, timestamp: new Date(ts).toISOString(), properties: { url: `https://example.com/page-${minute}` } } }
    }
    const minutes = Array.from({ length: 12 }, (_, n) => 10 + n * 10)
    const lateMinute = 110
    expect(await send(minutes.filter((minute) => minute !== lateMinute).map(visit), TEST_WRITE_KEY)).toBe(11)
    expect(await send(flushEvents(Date.now() - MINUTE), OTHER_WRITE_KEY)).toBe(PARTITIONS * 3)
    expect(await eventually(() => caughtUp(eddy), (done) => done, 120_000)).toBe(true)
    // One session [end, pageviews, events]; times move by the sender's clock-skew correction, counts do not.
    expect([...(await stored()).sessions.values()].map(sessionCounts)).toEqual([[11, 11]])

    expect(await send([visit(lateMinute)], TEST_WRITE_KEY)).toBe(1)
    expect(await eventually(() => caughtUp(eddy), (done) => done, 120_000)).toBe(true)
    const bus = await eddy.runtime.bus()
    expect((await bus.admin().topicOffsets(eddy.runtime.config.topics.late)).reduce((sum, p) => sum + p.high - p.low, 0)).toBe(1)
    const truth = await fromRaw()
    expect([...truth.sessions.values()].map(sessionCounts)).toEqual([[12, 12]])
    const converged = await eventually(stored, (now) => Object.keys(differences(truth, now)).length === 0, 120_000)
    expect(differences(truth, converged)).toEqual({})
  }, 300_000)
})

describeWithService('kafka', 'KAFKA_BROKERS', 'automatic convergence on Kafka', (brokers) => {
  // A topic prefix per run keeps runs against a shared broker apart.
  pipelineFor(1_000, { KAFKA_BROKERS: brokers, EDDY_TOPIC_PREFIX: `eddy-converge-${Date.now()}` })

  it('late events on the Kafka late topic converge their windows to the raw tables', convergesByItself, 300_000)
})

/**
 * A reprocess through the running pipeline's operator endpoint (as `eddy reprocess` does while
 * `eddy start` holds the embedded log), while live traffic goes on into the same range. Visitors'
 * sessions run across the point the live jobs have reached, so a reprocess that wrote a window
 * or session the live job still changes would hide the live job's later rows (they sort below
 * its revision). The traffic is sent in order, so nothing is late and no convergence is needed:
 * the final rows must equal the raw tables exactly.
 */
describe('reprocess while live traffic flows into the same windows', () => {
  pipelineFor(0)

  it('leaves open windows to the live jobs, and the final rows equal the raw tables', async () => {
    const startMs = Math.floor((Date.now() - 3 * 3_600_000) / MINUTE) * MINUTE
    const traffic = generateTraffic({ seed: 7, events: 6_000, startMs, spanMs: 60 * MINUTE, visitorPrefix: 'live-' })
    const inOrder = (events: readonly GeneratedEvent[]) => sendRequests(toRequests(events, 50), { baseUrl: eddy.url, writeKey: TEST_WRITE_KEY, batchSize: 50, concurrency: 1 })
    const half = startMs + 30 * MINUTE
    expect((await inOrder(traffic.filter((event) => event.ts < half))).rejected).toBe(0)
    expect(await eventually(() => caughtUp(eddy), (done) => done, 120_000)).toBe(true)

    // The second half goes in while the reprocess of the whole hour runs.
    const [summary, sent] = await Promise.all([
      reprocessOverHttp({ baseUrl: eddy.url, operatorKey: TEST_OPERATOR_KEY, request: { fromMs: startMs - 10 * MINUTE, toMs: startMs + 70 * MINUTE }, pollMs: 100 }),
      inOrder(traffic.filter((event) => event.ts >= half)),
    ])
    expect(sent.rejected).toBe(0)
    // It wrote what the live jobs had closed and left the rest to them.
    expect(summary.streams.click!.rows).toBeGreaterThan(0)
    expect(summary.streams.click!.stillOpen).toBeGreaterThan(0)

    expect((await send(flushEvents(Date.now() - MINUTE), OTHER_WRITE_KEY))).toBe(PARTITIONS * 3)
    expect(await eventually(() => caughtUp(eddy), (done) => done, 120_000)).toBe(true)
    const bus = await eddy.runtime.bus()
    expect((await bus.admin().topicOffsets(eddy.runtime.config.topics.late)).reduce((sum, p) => sum + p.high - p.low, 0)).toBe(0)
    expect(differences(await fromRaw(), await stored())).toEqual({})
  }, 300_000)
})
