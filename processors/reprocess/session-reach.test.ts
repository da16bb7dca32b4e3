import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouseClient, type ClickHouseClient } from '../../core/clickhouse/client.ts'
import { migrate } from '../../core/clickhouse/migrate.ts'
import { describeWithService } from '../../test/support/services.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { MAX_NAMED_KEYS } from './pending-ranges.ts'
import { sessionReachBack } from './session-reach.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T = Date.UTC(2026, 11, 1, 12)
const OPTIONS = { sessionGapMs: 30 * MINUTE, boundMs: 24 * HOUR, alignMs: HOUR }

/** Stored sessions against which a convergence run over [T, T + 1 h) looks back. */
function reachesBack(connect: () => Promise<{ client: ClickHouseClient; close(): Promise<void> }>) {
  const database = `eddy_reach_${Math.random().toString(36).slice(2, 8)}`
  let connection: Awaited<ReturnType<typeof connect>>
  beforeAll(async () => {
    connection = await connect()
    await migrate(connection.client, { database, retentionDays: 3650, logger: pino({ level: 'silent' }) })
    const session = (visitor: string, startMs: number, endMs: number, isDeleted = 0) => ({
      project_id: 'alpha', anonymous_id: visitor, session_start: startMs, session_end: endMs, source_partition: 0, duration_ms: endMs - startMs, pageviews: 1, events: 1,
      entry_path: '/', exit_path: '/', referrer_domain: '', utm_source: '', utm_medium: '', utm_campaign: '', device_type: '', browser: '', os: '', country: '', bounced: 0, revision: 1, final: 1, is_deleted: isDeleted,
    })
    await connection.client.insert({
      table: `${database}.sessions`,
      format: 'JSONEachRow',
      values: [
        session('long', T - 3 * HOUR - 10 * MINUTE, T + 20 * MINUTE), // across the start, for hours
        session('ended', T - 5 * HOUR, T - 2 * HOUR), // ended long before the late events
        session('gone', T - 6 * HOUR, T + 10 * MINUTE, 1), // cancelled by an earlier reprocess
        session('ancient', T - 30 * HOUR, T + 5 * MINUTE), // began before the bound: left to the live job
      ],
    })
  })
  afterAll(async () => {
    await connection?.client.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` })
    await connection?.close()
  })

  const range = (keys: string[] | undefined) => ({ stream: 'click' as const, fromMs: T, toMs: T + HOUR, earliestMs: T + 5 * MINUTE, keys: keys === undefined ? undefined : new Set(keys) })

  it('starts where a late visitor\'s stored session across the range start began, in whole hours', async () => {
    expect(await sessionReachBack(connection.client, database, range(['long']), OPTIONS)).toBe(T - 4 * HOUR)
  })

  it('stays put for visitors without such a session, cancelled sessions and those past the bound', async () => {
    expect(await sessionReachBack(connection.client, database, range(['ended', 'gone', 'ancient', 'nobody']), OPTIONS)).toBe(T)
  })

  it('looks at every visitor when the range could not name them', async () => {
    expect(await sessionReachBack(connection.client, database, range(undefined), OPTIONS)).toBe(T - 4 * HOUR)
  })

  it('takes as many named visitors as a range names at most', async () => {
    const many = Array.from({ length: MAX_NAMED_KEYS - 1 }, (_, index) => `visitor-${'x'.repeat(40)}-${index}`)
    expect(await sessionReachBack(connection.client, database, range([...many, 'long']), OPTIONS)).toBe(T - 4 * HOUR)
  })
}

describe('session reach on the embedded engine (chDB)', () => {
  reachesBack(async () => {
    const directory = temporaryDirectory('session-reach')
    const config = { clickhouse: { url: undefined, username: 'default', password: '', database: 'eddy' }, dataDir: directory.path }
    const client = await createClickHouseClient(config as Parameters<typeof createClickHouseClient>[0])
    return { client, close: async () => { await client.close(); directory.remove() } }
  })
})

describeWithService('clickhouse', 'CLICKHOUSE_URL', 'session reach on a ClickHouse server (HTTP: the visitors travel in the URL)', (url) => {
  reachesBack(async () => {
    const config = { clickhouse: { url, username: 'default', password: '', database: 'eddy' }, dataDir: '/nonexistent' }
    const client = await createClickHouseClient(config as Parameters<typeof createClickHouseClient>[0])
    return { client, close: () => client.close() }
  })
})
