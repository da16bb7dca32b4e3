import { PassThrough } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouseClient, type ClickHouseClient } from '../../core/clickhouse/client.ts'
import { migrate } from '../../core/clickhouse/migrate.ts'
import { CORPUS_START_MS, logCorpus } from '../../core/search/test-corpus.ts'
import { RAW_ROW } from '../../processors/sinks/raw-rows.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { exportEvents } from './exporter.ts'

const directory = temporaryDirectory('export')
// Two projects, a month boundary, events sharing a timestamp.
const logs = logCorpus(300)
const FROM = CORPUS_START_MS - 60_000
const TO = CORPUS_START_MS + 3 * 86_400_000
let client: ClickHouseClient

beforeAll(async () => {
  client = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy' } })
  await migrate(client, { database: 'eddy', retentionDays: 3650, logger: pino({ level: 'silent' }) })
  await client.insert({ table: 'eddy.events_log', values: logs.map(RAW_ROW.log), format: 'JSONEachRow' })
  // A quarter of them again, in a part of their own, as a replay leaves them before a merge.
  await client.insert({ table: 'eddy.events_log', values: logs.filter((_, index) => index % 4 === 0).map(RAW_ROW.log), format: 'JSONEachRow' })
})
afterAll(async () => {
  await client?.close()
  directory.remove()
})

async function exported(pageRows: number, fromMs = FROM, toMs = TO): Promise<Array<{ event_id: string; timestamp: string }>> {
  const output = new PassThrough()
  const chunks: Buffer[] = []
  output.on('data', (chunk: Buffer) => chunks.push(chunk))
  const rows = await exportEvents({ client, database: 'eddy', stream: 'log', projectId: 'alpha', fromMs, toMs, output, pageRows })
  const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event_id: string; timestamp: string })
  expect(lines).toHaveLength(rows)
  return lines
}

describe('exportEvents', () => {
  it('pages a range through small queries, across days, and writes what one query would: each event once, in time order', async () => {
    const whole = await exported(1_000_000)
    const alpha = logs.filter((event) => event.project_id === 'alpha')
    expect(new Set(whole.map((line) => line.event_id))).toEqual(new Set(alpha.map((event) => event.event_id)))
    expect(whole).toHaveLength(alpha.length)
    const times = whole.map((line) => Date.parse(line.timestamp))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    // 7 rows a page: dozens of pages, and page ends that fall between events sharing a timestamp.
    expect(await exported(7)).toEqual(whole)
  })

  it('keeps to the range, from inclusive and to exclusive', async () => {
    const alpha = logs.filter((event) => event.project_id === 'alpha').sort((a, b) => a.ts - b.ts)
    const fromMs = alpha[20]!.ts
    const toMs = alpha[120]!.ts
    const expected = alpha.filter((event) => event.ts >= fromMs && event.ts < toMs).map((event) => event.event_id)
    expect((await exported(9, fromMs, toMs)).map((line) => line.event_id).sort()).toEqual(expected.sort())
  })
})
