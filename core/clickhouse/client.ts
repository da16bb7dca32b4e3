import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type { Connection } from 'chdb/connection'
import { createClient, type ClickHouseClient, type ErrorLogParams, type Logger as ClientLogger, type LogParams, type WarnLogParams } from '@clickhouse/client'
import type { Config } from '../config/index.ts'
import type { Logger } from '../logging/logger.ts'

export type { ClickHouseClient }

/**
 * The OLAP store client: a ClickHouse server when CLICKHOUSE_URL is set, otherwise the same engine
 * in-process through chDB. Both speak @clickhouse/client, so every query and migration is shared.
 * chDB is one engine per process (and per data path), hence the data dir subfolder.
 */
export async function createClickHouseClient(config: Pick<Config, 'clickhouse' | 'dataDir'>, logger?: Logger): Promise<ClickHouseClient> {
  const log = clientLog(logger)
  if (config.clickhouse.url) {
    return createClient({
      url: config.clickhouse.url,
      username: config.clickhouse.username,
      password: config.clickhouse.password,
      clickhouse_settings: SETTINGS,
      request_timeout: 30_000,
      log,
    })
  }
  const path = join(config.dataDir, 'clickhouse')
  mkdirSync(path, { recursive: true })
  const { createChdbConnection } = await import('chdb/connection')
  const { drainPending } = await import('chdb')
  const connection = createChdbConnection({ path })
  const client = clickHouseClientOn(connection, logger)
  embedded.set(client, connection)
  // The engine binds one data directory per process and lets go of it only once the queries still
  // running on its threads are done: closed means the next open (another path) will succeed.
  const close = client.close.bind(client)
  client.close = async () => {
    await close()
    await drainPending()
  }
  return client
}

const SETTINGS = {
  // Inserts are acknowledged only once written; the sink commits offsets after that.
  wait_end_of_query: 1 as const,
  date_time_input_format: 'best_effort' as const,
}

/** The in-process engine's connection behind each client made here, for serving it to another thread. */
const embedded = new WeakMap<ClickHouseClient, Connection<Readable>>()

/** The chDB connection a client of createClickHouseClient runs on; undefined for a server's. */
export function embeddedConnection(client: ClickHouseClient): Connection<Readable> | undefined {
  return embedded.get(client)
}

/**
 * A client with Eddy's settings and log on a connection of its own making: the embedded engine's,
 * or one to an engine another thread owns (core/clickhouse/thread).
 */
export function clickHouseClientOn(connection: Connection<Readable>, logger?: Logger): ClickHouseClient {
  return createClient({ connection, clickhouse_settings: SETTINGS, log: clientLog(logger) } as Parameters<typeof createClient>[0])
}

function clientLog(logger: Logger | undefined) {
  return logger ? { LoggerClass: clientLoggerClass(logger.child({ component: 'clickhouse-client' })) } : undefined
}

/**
 * The client's own log, through Eddy's logger instead of multi-line console output that ignores
 * LOG_LEVEL. Its errors are failed requests, and every one of them also rejects the call that made
 * it: the caller decides (the sink retries and warns once per attempt, the api answers 503), so
 * here they are debug, or an outage would print each failure twice.
 */
function clientLoggerClass(logger: Logger): new () => ClientLogger {
  const fields = ({ module, args }: LogParams, err?: Error) => ({ module, ...args, ...(err ? { err } : {}) })
  return class implements ClientLogger {
    trace(params: LogParams) { logger.trace(fields(params), params.message) }
    debug(params: LogParams) { logger.debug(fields(params), params.message) }
    info(params: LogParams) { logger.info(fields(params), params.message) }
    warn(params: WarnLogParams) { logger.warn(fields(params, params.err), params.message) }
    error(params: ErrorLogParams) { logger.debug(fields(params, params.err), params.message) }
  }
}

/** Table names are qualified with the configured database (validated as an identifier by config). */
export function tableName(database: string, table: string): string {
  return `${database}.${table}`
}
