import pino from 'pino'
import { afterAll } from 'vitest'
import { createClickHouseClient, type ClickHouseClient } from '../../clickhouse/client.ts'
import { migrate } from '../../clickhouse/migrate.ts'
import { RAW_ROW } from '../../../processors/sinks/raw-rows.ts'
import { temporaryDirectory } from '../../../test/support/temp-dir.ts'
import { searchStoreContract } from '../contract.ts'
import { ClickHouseSearchStore } from './store.ts'

const directory = temporaryDirectory('search-clickhouse')
let client: ClickHouseClient | undefined
afterAll(async () => {
  await client?.close()
  directory.remove()
})

searchStoreContract('ClickHouse (chDB)', async () => {
  client = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy' } })
  await migrate(client, { database: 'eddy', retentionDays: 3650, logger: pino({ level: 'silent' }) })
  const ch = client
  const store = new ClickHouseSearchStore(async (built) => (await ch.query({ query: built.query, query_params: built.params, format: 'JSONEachRow' })).json(), 'eddy')
  return {
    store,
    async load(logs, notifications) {
      // Separate inserts, as replays arrive: the second copy sits in its own part until a merge.
      await ch.insert({ table: 'eddy.events_log', values: logs.map(RAW_ROW.log), format: 'JSONEachRow' })
      await ch.insert({ table: 'eddy.events_notification', values: notifications.map(RAW_ROW.notification), format: 'JSONEachRow' })
    },
  }
})
