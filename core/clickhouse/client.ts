import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import type { Config } from '../config/index.ts'

export type { ClickHouseClient }

/**
 * The OLAP store client: a ClickHouse server when CLICKHOUSE_URL is set, otherwise the same engine
 * in-process through chDB. Both speak @clickhouse/client, so every query and migration is shared.
 * chDB is one engine per process (and per data path), hence the data dir subfolder.
 */
export async function createClickHouseClient(config: Pick<Config, 'clickhouse' | 'dataDir'>): Promise<ClickHouseClient> {
  const settings = {
    // Inserts are acknowledged only once written; the sink commits offsets after that.
    wait_end_of_query: 1 as const,
    date_time_input_format: 'best_effort' as const,
  }
  if (config.clickhouse.url) {
    return createClient({
      url: config.clickhouse.url,
      username: config.clickhouse.username,
      password: config.clickhouse.password,
      clickhouse_settings: settings,
      request_timeout: 30_000,
    })
  }
  const path = join(config.dataDir, 'clickhouse')
  mkdirSync(path, { recursive: true })
  const { createChdbConnection } = await import('chdb/connection')
  return createClient({ connection: createChdbConnection({ path }), clickhouse_settings: settings } as Parameters<typeof createClient>[0])
}

/** Table names are qualified with the configured database (validated as an identifier by config). */
export function tableName(database: string, table: string): string {
  return `${database}.${table}`
}
