import { afterAll, describe, expect, it } from 'vitest'
import { SeededRandom } from '../../traffic/random.ts'
import { createClickHouseClient } from '../../core/clickhouse/client.ts'
import { DEFAULT_CLICKSTREAM } from '../../processors/jobs/clickstream.ts'
import { mapDifferences, storedClickstream, storedPerMinute } from '../support/aggregates.ts'
import { EddyProcess, freePort, postUntilAccepted } from '../support/eddy-process.ts'
import { eventIdsOf, reportFaultCounts } from '../support/fault-report.ts'
import { clickstreamOracle, eventStream, groundTruthStream, perMinuteOracle, type StreamTruth } from '../support/ground-truth.ts'
import { eventually } from '../support/pipeline.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const EVENTS = Number(process.env.EDDY_GROUND_TRUTH_EVENTS ?? 200_000)
const KILLS_WHILE_SENDING = 5
const PARTITIONS = 4
const directory = temporaryDirectory('crash')
const READ_KEY = 'crash-read-key-a'
const OPERATOR_KEY = 'crash-operator-key'
const env = {
  EDDY_DATA_DIR: directory.path,
  EDDY_PARTITIONS: String(PARTITIONS),
  EDDY_OPERATOR_KEYS: OPERATOR_KEY,
  EDDY_PROJECTS: JSON.stringify([
    { id: 'alpha', writeKeys: ['crash-write-key-a'], readKeys: [READ_KEY] },
    { id: 'beta', writeKeys: ['crash-write-key-b'], readKeys: ['crash-read-key-b'] },
  ]),
}
let eddy: EddyProcess

afterAll(async () => {
  await eddy?.kill()
  directory.remove()
})

describe('crash: eddy start is SIGKILLed while ingesting and processing', () => {
  it(`loses and double-counts nothing across ${KILLS_WHILE_SENDING + 1} kill -9s (${EVENTS.toLocaleString('en-US')} clicks, plus logs and notifications)`, async () => {
    eddy = new EddyProcess(await freePort(), env)
    await eddy.start()
    const stream = groundTruthStream({ seed: 23, events: EVENTS, startMs: Date.now() - 12 * 3_600_000, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM })
    const oracle = clickstreamOracle(stream.clicks)
    // Logs and notifications ride along, so every job (and its raw rows) is killed mid-batch too.
    const others: StreamTruth[] = [
      eventStream('log', { seed: 24, events: EVENTS / 8, startMs: Date.now() - 12 * 3_600_000, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM }),
      eventStream('notification', { seed: 25, events: EVENTS / 8, startMs: Date.now() - 12 * 3_600_000, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM }),
    ]
    const pathOf = (truth: StreamTruth) => (truth.stream === 'log' ? '/v1/logs' : '/v1/notifications')
    const random = new SeededRandom(5)
    const batches: Record<string, unknown>[][] = []
    for (let start = 0; start < stream.payloads.length; start += 500) batches.push(stream.payloads.slice(start, start + 500))

    // Kills at five random batches, a few milliseconds into the request, so one is in flight;
    // the client retries through the restart.
    const killAt = new Set<number>()
    while (killAt.size < KILLS_WHILE_SENDING) killAt.add(Math.floor(batches.length * (0.05 + 0.9 * random.next())))
    let retries = 0
    for (const [index, batch] of batches.entries()) {
      const crash = killAt.has(index)
        ? (async () => {
            await new Promise((resolve) => setTimeout(resolve, random.next() * 20))
            await eddy.kill()
            await eddy.start()
          })()
        : undefined
      retries += (await postUntilAccepted(`${eddy.url}/v1/batch`, { batch }, 'crash-write-key-a')) - 1
      for (const truth of others) {
        const items = truth.payloads.slice(index * 500, (index + 1) * 500)
        if (items.length > 0) retries += (await postUntilAccepted(`${eddy.url}${pathOf(truth)}`, items, 'crash-write-key-a')) - 1
      }
      await crash
    }
    for (const truth of others) expect(truth.payloads.length).toBeLessThanOrEqual(batches.length * 500)
    for (const flush of stream.flush) await postUntilAccepted(`${eddy.url}/v1/batch`, { batch: [flush] }, 'crash-write-key-b')
    for (const truth of others) await postUntilAccepted(`${eddy.url}${pathOf(truth)}`, truth.flush, 'crash-write-key-b')
    // One more kill while the backlog is being processed.
    await new Promise((resolve) => setTimeout(resolve, 300))
    await eddy.kill()
    await eddy.start()
    expect(eddy.starts).toBe(KILLS_WHILE_SENDING + 2)

    const lag = await eventually(async () => {
      const response = await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${OPERATOR_KEY}` } })
      return ((await response.json()) as { lag: number }).lag
    }, (value) => value === 0, 180_000)
    expect(lag).toBe(0)
    await eddy.stop()

    const clickhouse = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy' } })
    try {
      const stored = await storedClickstream(clickhouse, 'eddy', 'alpha')
      expect(mapDifferences(oracle.clicks1m, stored.clicks1m), 'clicks_1m').toEqual([])
      expect(mapDifferences(oracle.sessions, stored.sessions), 'sessions').toEqual([])
      expect(mapDifferences(oracle.transitions, stored.transitions), 'page_transitions_1h').toEqual([])
      for (const truth of others) {
        expect(mapDifferences(perMinuteOracle(truth), await storedPerMinute(clickhouse, 'eddy', 'alpha', truth.stream)), `${truth.stream} per minute`).toEqual([])
      }
      // postUntilAccepted retried every request until it was answered 202: every event sent was acknowledged.
      const counts = await reportFaultCounts(clickhouse, 'processor-crash', {
        sent: stream.payloads.length + others.reduce((sum, truth) => sum + truth.payloads.length, 0),
        streams: [
          { table: 'eddy.events_click', where: "project_id = 'alpha'", acknowledged: eventIdsOf('click', 'alpha', stream.payloads) },
          ...others.map((truth) => ({ table: `eddy.events_${truth.stream}`, where: "project_id = 'alpha'", acknowledged: eventIdsOf(truth.stream, 'alpha', truth.payloads) })),
        ],
        extra: { kills: eddy.starts - 1, retriedRequests: retries, resentOnPurpose: stream.duplicates },
      })
      expect(counts).toMatchObject({ lost: 0, duplicates: 0, unacknowledged: 0 })
    } finally {
      await clickhouse.close()
    }
  }, 900_000)
})
