import { Kafka, logLevel } from 'kafkajs'
import { afterAll, expect, it } from 'vitest'
import { SeededRandom } from '../../traffic/random.ts'
import { createClickHouseClient } from '../../core/clickhouse/client.ts'
import { DEFAULT_CLICKSTREAM } from '../../processors/jobs/clickstream.ts'
import { mapDifferences, storedClickstream, storedPerMinute } from '../support/aggregates.ts'
import { EddyProcess, freePort, postUntilAccepted } from '../support/eddy-process.ts'
import { eventIdsOf, reportFaultCounts } from '../support/fault-report.ts'
import { clickstreamOracle, eventStream, groundTruthStream, perMinuteOracle, type StreamTruth } from '../support/ground-truth.ts'
import { eventually } from '../support/pipeline.ts'
import { describeWithServices } from '../support/services.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

/** Records in a topic, summed over its partitions. */
async function changelogRecords(brokers: string, topic: string): Promise<number> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, partition) => sum + Number(partition.high), 0)
  } finally {
    await admin.disconnect()
  }
}

const EVENTS = 40_000
const KILLS = 6
const PARTITIONS = 4
const READ_KEY = 'crash-kafka-read-key'
const OPERATOR_KEY = 'crash-kafka-operator-key'

// The distributed deployment: one `eddy ingest` and two `eddy process` instances in one consumer
// group per job, separate processes sharing Kafka and one ClickHouse (over HTTP). Processor
// instances are killed -9 in turn while events flow, so partitions move to the survivor with
// their state (rebuilt from the changelog topics) and move back when the killed one returns.
describeWithServices([{ name: 'kafka', envVar: 'KAFKA_BROKERS' }, { name: 'clickhouse', envVar: 'CLICKHOUSE_URL' }], 'crash on Kafka: processor instances SIGKILLed in turn and restarted in a rolling deploy', (urls) => {
  const directory = temporaryDirectory('crash-kafka')
  const suffix = String(Date.now())
  const database = `crash_kafka_${suffix}`
  const shared = {
    KAFKA_BROKERS: urls.KAFKA_BROKERS!,
    CLICKHOUSE_URL: urls.CLICKHOUSE_URL!,
    CLICKHOUSE_DATABASE: database,
    EDDY_TOPIC_PREFIX: `crash-${suffix}`,
    EDDY_PARTITIONS: String(PARTITIONS),
    EDDY_OPERATOR_KEYS: OPERATOR_KEY,
    EDDY_PROJECTS: JSON.stringify([
      { id: 'alpha', writeKeys: ['crash-kafka-write-a'], readKeys: [READ_KEY] },
      { id: 'beta', writeKeys: ['crash-kafka-write-b'], readKeys: ['crash-kafka-read-b'] },
    ]),
  }
  const processes: EddyProcess[] = []
  afterAll(async () => {
    for (const process of processes) await process.kill()
    directory.remove()
  }, 60_000)

  it(`loses and double-counts nothing across ${KILLS} kill -9s of processor instances (${EVENTS.toLocaleString('en-US')} clicks, plus logs and notifications)`, async () => {
    const start = async (command: string, name: string) => {
      const process = new EddyProcess(await freePort(), { ...shared, EDDY_DATA_DIR: `${directory.path}/${name}` }, command)
      processes.push(process)
      await process.start(120_000)
      return process
    }
    // One after the other: each runs the ClickHouse migrations on start.
    const ingest = await start('ingest', 'ingest')
    const processors = [await start('process', 'processor-1'), await start('process', 'processor-2')]

    const startMs = Date.now() - 12 * 3_600_000
    const clicks = groundTruthStream({ seed: 31, events: EVENTS, startMs, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM })
    const others: StreamTruth[] = [
      eventStream('log', { seed: 32, events: EVENTS / 8, startMs, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM }),
      eventStream('notification', { seed: 33, events: EVENTS / 8, startMs, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM }),
    ]
    const pathOf = (truth: StreamTruth) => (truth.stream === 'log' ? '/v1/logs' : '/v1/notifications')
    const batches: Record<string, unknown>[][] = []
    for (let offset = 0; offset < clicks.payloads.length; offset += 500) batches.push(clicks.payloads.slice(offset, offset + 500))

    // Kills at random batches, alternating instances; the killed one restarts while the other
    // has taken over its partitions.
    const random = new SeededRandom(7)
    const killAt = new Set<number>()
    while (killAt.size < KILLS - 1) killAt.add(Math.floor(batches.length * (0.05 + 0.9 * random.next())))
    let kills = 0
    const restarting: Promise<void>[] = []
    // A victim's kills run one after the other: two kill points close together must not restart
    // the same instance twice at once (the first child would be orphaned, outliving the test).
    const lastRestart = new Map<EddyProcess, Promise<void>>()
    const killOne = () => {
      const victim = processors[kills % 2]!
      kills += 1
      const pause = 500 + random.next() * 1_500
      const restart = (lastRestart.get(victim) ?? Promise.resolve()).then(async () => {
        await victim.kill()
        await new Promise((resolve) => setTimeout(resolve, pause))
        await victim.start(120_000)
      })
      lastRestart.set(victim, restart)
      return restart
    }
    // Halfway, a rolling restart of both instances (stopped and started one after the other, as
    // a deploy does): each hands its partitions over with a checkpoint on revocation.
    const rollingAt = Math.floor(batches.length / 2)
    killAt.delete(rollingAt)
    const rollingRestart = async () => {
      for (const instance of processors) {
        const restart = (lastRestart.get(instance) ?? Promise.resolve()).then(async () => {
          await instance.stop()
          await instance.start(120_000)
        })
        lastRestart.set(instance, restart)
        await restart
      }
    }
    for (const [index, batch] of batches.entries()) {
      if (killAt.has(index)) restarting.push(killOne())
      if (index === rollingAt) restarting.push(rollingRestart())
      await postUntilAccepted(`${ingest.url}/v1/batch`, { batch }, 'crash-kafka-write-a')
      for (const truth of others) {
        const items = truth.payloads.slice(index * 500, (index + 1) * 500)
        if (items.length > 0) await postUntilAccepted(`${ingest.url}${pathOf(truth)}`, items, 'crash-kafka-write-a')
      }
    }
    for (const truth of others) expect(truth.payloads.length).toBeLessThanOrEqual(batches.length * 500)
    await Promise.all(restarting)
    await postUntilAccepted(`${ingest.url}/v1/batch`, { batch: clicks.flush }, 'crash-kafka-write-b')
    for (const truth of others) await postUntilAccepted(`${ingest.url}${pathOf(truth)}`, truth.flush, 'crash-kafka-write-b')
    // One more while the backlog drains.
    await killOne()
    expect(kills).toBe(KILLS)

    const lag = await eventually(async () => {
      const response = await fetch(`${processors[0]!.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${OPERATOR_KEY}` } })
      return response.ok ? ((await response.json()) as { lag: number }).lag : -1
    }, (value) => value === 0, 240_000)
    expect(lag).toBe(0)
    for (const process of processes) await process.stop()

    const clickhouse = await createClickHouseClient({ dataDir: directory.path, clickhouse: { url: urls.CLICKHOUSE_URL, database } })
    try {
      const oracle = clickstreamOracle(clicks.clicks)
      const stored = await storedClickstream(clickhouse, database, 'alpha')
      expect(mapDifferences(oracle.clicks1m, stored.clicks1m), 'clicks_1m').toEqual([])
      expect(mapDifferences(oracle.sessions, stored.sessions), 'sessions').toEqual([])
      expect(mapDifferences(oracle.transitions, stored.transitions), 'page_transitions_1h').toEqual([])
      for (const truth of others) {
        expect(mapDifferences(perMinuteOracle(truth), await storedPerMinute(clickhouse, database, 'alpha', truth.stream)), `${truth.stream} per minute`).toEqual([])
      }
      // postUntilAccepted retried every request until it was answered 202: every event sent was acknowledged.
      const counts = await reportFaultCounts(clickhouse, 'processor-crash-kafka', {
        sent: clicks.payloads.length + others.reduce((sum, truth) => sum + truth.payloads.length, 0),
        streams: [
          { table: `${database}.events_click`, where: "project_id = 'alpha'", acknowledged: eventIdsOf('click', 'alpha', clicks.payloads) },
          ...others.map((truth) => ({ table: `${database}.events_${truth.stream}`, where: "project_id = 'alpha'", acknowledged: eventIdsOf(truth.stream, 'alpha', truth.payloads) })),
        ],
        extra: { kills, resentOnPurpose: clicks.duplicates },
      })
      expect(counts).toMatchObject({ lost: 0, duplicates: 0, unacknowledged: 0 })
      // The state moved through the changelog topics, and nothing went to the legacy table.
      for (const job of ['clickstream', 'logs', 'notifications']) expect(await changelogRecords(urls.KAFKA_BROKERS!, `${shared.EDDY_TOPIC_PREFIX}.${job}.changelog`), job).toBeGreaterThan(0)
      const legacy = await clickhouse.query({ query: `SELECT count() AS rows FROM ${database}.processor_checkpoints`, format: 'JSONEachRow' })
      expect(Number((await legacy.json<{ rows: string | number }>())[0]?.rows)).toBe(0)
    } finally {
      await clickhouse.close()
    }
  }, 900_000)
})
