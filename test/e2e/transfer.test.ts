import { createWriteStream, readFileSync } from 'node:fs'
import { finished } from 'node:stream/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tableName } from '../../core/clickhouse/client.ts'
import { RAW_TABLE } from '../../core/clickhouse/raw-tables.ts'
import { UserAgentParser } from '../../ingest/normalise/user-agent.ts'
import { EventPublisher } from '../../ingest/publisher.ts'
import { STREAMS, type Stream } from '../../schemas/avro/catalog.ts'
import { generateTraffic } from '../../traffic/generator.ts'
import { sendRequests, toRequests } from '../../traffic/sender.ts'
import { busDestination } from '../../cli/transfer/bus-destination.ts'
import type { ImportDestination } from '../../cli/transfer/destination.ts'
import { exportEvents } from '../../cli/transfer/exporter.ts'
import { httpDestination } from '../../cli/transfer/http-destination.ts'
import { exitCode } from '../../cli/transfer/import-summary.ts'
import { importLines } from '../../cli/transfer/importer.ts'
import { openLineSource } from '../../cli/transfer/line-reader.ts'
import { caughtUp, eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const NOW = Date.now()
// Within the processors' allowed lateness, so both deployments count every event in the aggregates.
const FROM = NOW - 5 * 60_000
const TO = NOW + 60_000
const range = `period=custom&from=${new Date(FROM - 60_000).toISOString()}&to=${new Date(TO).toISOString()}`
const ANSWERS = [
  ...STREAMS.map((stream) => `/api/v1/events/count?stream=${stream}&from=${new Date(FROM).toISOString()}&to=${new Date(TO).toISOString()}`),
  `/api/v1/stats/aggregate?${range}&metrics=visitors,pageviews`,
  `/api/v1/stats/breakdown?${range}&property=browser&metrics=visitors,pageviews`,
  `/api/v1/stats/breakdown?${range}&property=path&metrics=visitors,pageviews`,
  `/api/v1/stats/breakdown?${range}&property=country&metrics=visitors,pageviews`,
  `/api/v1/logs/stats?${range}`,
  `/api/v1/notifications/funnel?${range}`,
]

async function answers(eddy: TestPipeline): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const path of ANSWERS) {
    const response = await fetch(`${eddy.url}${path}`, { headers: { authorization: `Bearer ${TEST_READ_KEY}` } })
    const body = (await response.json()) as Record<string, unknown>
    delete body.generatedAt
    delete body.computed_at
    out[path] = { status: response.status, body }
  }
  return out
}

/** Every raw row of the project, one copy each, without received_at (when this deployment got it). */
async function rawRows(eddy: TestPipeline, stream: Stream): Promise<unknown[]> {
  const client = await eddy.runtime.clickhouse()
  const result = await client.query({
    query: `SELECT * EXCEPT received_at FROM ${tableName(eddy.runtime.config.clickhouse.database, RAW_TABLE[stream])} FINAL WHERE project_id = {project:String} ORDER BY event_id`,
    query_params: { project: 'alpha' },
    format: 'JSONEachRow',
  })
  return result.json()
}

const importInto = (destination: ImportDestination, files: string[]) => Promise.all(files.map((file) => openLineSource(file, { maxLineBytes: 32_768 })))
  .then((sources) => importLines({
    sources,
    context: { projectId: 'alpha', bounds: { maxFutureMs: 86_400_000, retentionMs: 400 * 86_400_000 }, userAgents: new UserAgentParser() },
    destination,
    maxNestingDepth: 64,
    maxEventBytes: 32_768,
  }))

describe('export, then import into a fresh deployment', () => {
  const directory = temporaryDirectory('transfer')
  const files = STREAMS.map((stream) => join(directory.path, `${stream}.ndjson`))
  let before: { answers: Record<string, unknown>; rows: Record<Stream, unknown[]> }
  let target: TestPipeline

  beforeAll(async () => {
    // The source deployment: realistic traffic through ingest, stored, then exported.
    const source = await startTestPipeline()
    try {
      const traffic = generateTraffic({ seed: 18, events: 1_500, startMs: FROM, spanMs: 4 * 60_000 })
      const sent = await sendRequests(toRequests(traffic, 50), { baseUrl: source.url, writeKey: TEST_WRITE_KEY, batchSize: 50, concurrency: 2 })
      expect(sent.rejected).toBe(0)
      expect(await eventually(() => caughtUp(source), Boolean, 60_000)).toBe(true)
      const rows = {} as Record<Stream, unknown[]>
      for (const stream of STREAMS) rows[stream] = await rawRows(source, stream)
      before = { answers: await answers(source), rows }
      expect(rows.click.length).toBeGreaterThan(500)
      expect(Object.values(before.answers).every((answer) => (answer as { status: number }).status === 200)).toBe(true)
      for (const [index, stream] of STREAMS.entries()) {
        const output = createWriteStream(files[index]!)
        const written = await exportEvents({ client: await source.runtime.clickhouse(), database: source.runtime.config.clickhouse.database, stream, projectId: 'alpha', fromMs: FROM, toMs: TO, output })
        output.end()
        await finished(output)
        expect(written).toBe(rows[stream].length)
      }
    } finally {
      await source.stop()
    }
    target = await startTestPipeline()
  }, 180_000)

  afterAll(async () => {
    await target?.stop()
    directory.remove()
  })

  it('exports every stored event once, clicks as Segment calls', () => {
    const clicks = readFileSync(files[0]!, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(clicks.length).toBe(before.rows.click.length)
    expect(new Set(clicks.map((call) => call.messageId)).size).toBe(clicks.length)
    expect(clicks.every((call) => ['page', 'track', 'identify'].includes(call.type as string) && typeof call.timestamp === 'string')).toBe(true)
  })

  it('through the running ingest over HTTP: the same raw rows and the same stats answers', async () => {
    const tally = await importInto(httpDestination({ baseUrl: target.url, writeKey: TEST_WRITE_KEY }), files)
    expect({ refused: tally.refused, fatal: tally.fatal, exit: exitCode(tally) }).toEqual({ refused: 0, fatal: undefined, exit: 0 })
    expect(tally.accepted).toBe(STREAMS.reduce((sum, stream) => sum + before.rows[stream].length, 0))
    expect(await eventually(() => caughtUp(target), Boolean, 60_000)).toBe(true)
    for (const stream of STREAMS) expect(await rawRows(target, stream)).toEqual(before.rows[stream])
    expect(await eventually(() => answers(target), (now) => JSON.stringify(now) === JSON.stringify(before.answers), 30_000)).toEqual(before.answers)
  }, 120_000)

  it('imported again, onto the bus itself, it is stored once', async () => {
    const bus = await target.runtime.bus()
    const publisher = new EventPublisher({ producer: bus.producer(), codec: await target.runtime.codec(), topics: target.runtime.config.topics, timeoutMs: 10_000, busHealthy: () => bus.healthy() })
    const tally = await importInto(busDestination({ publisher, description: 'the test bus' }), files)
    expect(exitCode(tally)).toBe(0)
    expect(await eventually(() => caughtUp(target), Boolean, 60_000)).toBe(true)
    for (const stream of STREAMS) expect(await rawRows(target, stream)).toEqual(before.rows[stream])
    expect(await answers(target)).toEqual(before.answers)
  }, 120_000)
})
