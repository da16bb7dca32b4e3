import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { createClickHouseClient, type ClickHouseClient } from './client.ts'
import { migrate, readMigrations, splitStatements } from './migrate.ts'

const logger = pino({ level: 'silent' })
const directory = temporaryDirectory('migrate')
let client: ClickHouseClient

beforeAll(async () => {
  client = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy_test' } })
})
afterAll(async () => {
  await client.close()
  directory.remove()
})

async function engineOf(table: string): Promise<string> {
  const result = await client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = {d:String} AND name = {t:String}',
    query_params: { d: 'eddy_test', t: table },
    format: 'JSONEachRow',
  })
  return (await result.json<{ engine_full: string }>())[0]?.engine_full ?? ''
}

describe('migrate', () => {
  it('splits statements on trailing semicolons and drops comments', () => {
    expect(splitStatements('-- note\nCREATE TABLE a (x String DEFAULT \';\');\n\nSELECT 1;\n')).toEqual([
      "CREATE TABLE a (x String DEFAULT ';')",
      'SELECT 1',
    ])
  })

  it('applies every migration once and is idempotent', async () => {
    const first = await migrate(client, { database: 'eddy_test', retentionDays: 400, logger })
    expect(first.applied).toEqual(readMigrations().map((m) => `${m.version}_${m.name}`))
    const second = await migrate(client, { database: 'eddy_test', retentionDays: 400, logger })
    expect(second.applied).toEqual([])
    expect(second.alreadyApplied).toBe(readMigrations().length)
    expect(await engineOf('events_click')).toContain('ReplacingMergeTree')
  })

  it('refuses to run when an applied migration was edited', async () => {
    const edited = readMigrations().map((m, index) => (index === 0 ? { ...m, checksum: 'edited' } : m))
    await expect(migrate(client, { database: 'eddy_test', retentionDays: 400, logger, migrations: edited })).rejects.toThrow(/was changed after it was applied/)
  })

  it('keeps the raw tables TTL equal to the configured retention', async () => {
    await migrate(client, { database: 'eddy_test', retentionDays: 30, logger })
    for (const table of ['events_click', 'events_log', 'events_notification']) {
      expect(await engineOf(table)).toContain('toIntervalDay(30)')
    }
  })
})
