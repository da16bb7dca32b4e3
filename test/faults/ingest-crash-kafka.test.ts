import { afterAll, expect, it } from 'vitest'
import { createClickHouseClient } from '../../core/clickhouse/client.ts'
import { EddyProcess, freePort } from '../support/eddy-process.ts'
import { eventIdsOf, reportFaultCounts } from '../support/fault-report.ts'
import { eventually } from '../support/pipeline.ts'
import { describeWithServices } from '../support/services.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const BATCHES = 40
const PER_BATCH = 250
const KILLS = 3
const READ_KEY = 'ingest-crash-read-key'
const OPERATOR_KEY = 'ingest-crash-operator-key'
const WRITE_KEY = 'ingest-crash-write-key'

// `eddy ingest` is SIGKILLed while clients send, and restarted. Clients do what the snippet and
// the SDKs do: retry a request that got no answer, with the same message ids. Whatever happened
// to the killed requests (produced or not, answered or not), every event that got a 202 must be
// stored exactly once.
describeWithServices([{ name: 'kafka', envVar: 'KAFKA_BROKERS' }, { name: 'clickhouse', envVar: 'CLICKHOUSE_URL' }], 'crash on Kafka: ingest SIGKILLed while clients send', (urls) => {
  const directory = temporaryDirectory('ingest-crash')
  const suffix = String(Date.now())
  const database = `ingest_crash_${suffix}`
  const shared = {
    KAFKA_BROKERS: urls.KAFKA_BROKERS!,
    CLICKHOUSE_URL: urls.CLICKHOUSE_URL!,
    CLICKHOUSE_DATABASE: database,
    EDDY_TOPIC_PREFIX: `ingest-crash-${suffix}`,
    EDDY_PARTITIONS: '2',
    EDDY_OPERATOR_KEYS: OPERATOR_KEY,
    EDDY_PROJECTS: JSON.stringify([{ id: 'alpha', writeKeys: [WRITE_KEY], readKeys: [READ_KEY] }]),
  }
  const processes: EddyProcess[] = []
  afterAll(async () => {
    for (const process of processes) await process.kill()
    directory.remove()
  }, 60_000)

  it(`stores every acknowledged event once across ${KILLS} kill -9s of ingest (${(BATCHES * PER_BATCH).toLocaleString('en-US')} events)`, async () => {
    const start = async (command: string, name: string) => {
      const process = new EddyProcess(await freePort(), { ...shared, EDDY_DATA_DIR: `${directory.path}/${name}` }, command)
      processes.push(process)
      await process.start(120_000)
      return process
    }
    const processor = await start('process', 'processor')
    const ingest = await start('ingest', 'ingest')

    const now = Date.now()
    const batches = Array.from({ length: BATCHES }, (_, batch) => Array.from({ length: PER_BATCH }, (_, index) => {
      const n = batch * PER_BATCH + index
      return { type: 'track', event: 'Ingest Crash', messageId: `ingest-crash-${n}`, anonymousId: `visitor-${n % 97}`, timestamp: new Date(now - 60_000 + n).toISOString() }
    }))
    const authorization = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`
    const counts = { sent: 0, attempts: 0, failedAttempts: 0 }
    const acknowledged: Record<string, unknown>[] = []
    const send = async (batch: Record<string, unknown>[]) => {
      counts.sent += batch.length
      for (;;) {
        counts.attempts++
        try {
          const response = await fetch(`${ingest.url}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) })
          if (response.status === 202) {
            acknowledged.push(...batch)
            return
          }
          expect(response.status, await response.text()).toBeGreaterThanOrEqual(500)
        } catch (error) {
          if ((error as Error).name === 'AssertionError') throw error
        }
        counts.failedAttempts++
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }

    let kills = 0
    let killerFailed = false
    const killer = (async () => {
      while (kills < KILLS) {
        await new Promise((resolve) => setTimeout(resolve, 1_500))
        await ingest.kill()
        kills++
        await new Promise((resolve) => setTimeout(resolve, 300))
        await ingest.start(120_000)
      }
    })().catch((error: unknown) => {
      killerFailed = true
      throw error
    })
    // The batches are spread over the kills: batch i waits for kill number phase(i), so a fast
    // machine cannot send everything before the last kill, and every restart meets clients that
    // are sending (refused connections and requests cut off mid-flight).
    const phase = (index: number) => Math.floor((index * (KILLS + 1)) / BATCHES)
    let next = 0
    const client = async () => {
      while (next < batches.length) {
        const index = next++
        while (kills < phase(index)) {
          if (killerFailed) return
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        await send(batches[index]!)
        await new Promise((resolve) => setTimeout(resolve, 150))
      }
    }
    await Promise.all([client(), client(), killer])
    expect(kills).toBe(KILLS)
    expect(counts.failedAttempts, 'the kills hit requests in flight').toBeGreaterThan(0)

    const lag = await eventually(async () => {
      const response = await fetch(`${processor.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${OPERATOR_KEY}` } }).catch(() => undefined)
      return response?.ok ? ((await response.json()) as { lag: number }).lag : -1
    }, (value) => value === 0, 120_000)
    expect(lag).toBe(0)

    const clickhouse = await createClickHouseClient({ dataDir: directory.path, clickhouse: { url: urls.CLICKHOUSE_URL, database } })
    try {
      const report = await reportFaultCounts(clickhouse, 'ingest-crash-kafka', {
        sent: counts.sent,
        streams: [{ table: `${database}.events_click`, where: "project_id = 'alpha' AND name = 'Ingest Crash'", acknowledged: eventIdsOf('click', 'alpha', acknowledged) }],
        extra: { attempts: counts.attempts, failedAttempts: counts.failedAttempts, kills },
      })
      expect(report).toMatchObject({ acknowledged: BATCHES * PER_BATCH, stored: BATCHES * PER_BATCH, duplicates: 0, lost: 0 })
    } finally {
      await clickhouse.close()
    }
  }, 600_000)
})
