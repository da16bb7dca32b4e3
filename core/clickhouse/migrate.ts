import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ClickHouseClient } from '@clickhouse/client'
import type { Logger } from '../logging/logger.ts'

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../schemas/clickhouse')

export interface Migration {
  readonly version: number
  readonly name: string
  readonly checksum: string
  readonly statements: readonly string[]
}

/** Tables whose TTL follows EDDY_RETENTION_DAYS. */
const RETAINED_TABLES = ['events_click', 'events_log', 'events_notification'] as const

export function readMigrations(directory = MIGRATIONS_DIR): Migration[] {
  return readdirSync(directory)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(join(directory, file), 'utf8')
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        checksum: createHash('sha256').update(text).digest('hex'),
        statements: splitStatements(text),
      }
    })
}

/** Statements end with `;` at the end of a line; comment lines are dropped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter(Boolean)
}

export interface MigrateOptions {
  readonly database: string
  readonly retentionDays: number
  readonly logger: Logger
  readonly migrations?: readonly Migration[]
}

export interface MigrateResult {
  readonly applied: string[]
  readonly alreadyApplied: number
}

/**
 * Applies the migrations not yet recorded in `<database>.schema_migrations`, in order. Applied
 * migrations are immutable: a changed checksum stops the run instead of silently diverging.
 * Statements are written to be idempotent (IF NOT EXISTS), so a run interrupted between a
 * statement and its record is safe to repeat.
 */
export async function migrate(client: ClickHouseClient, options: MigrateOptions): Promise<MigrateResult> {
  const { database, logger } = options
  const migrations = options.migrations ?? readMigrations()
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` })
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ReplacingMergeTree ORDER BY version`,
  })
  const result = await client.query({ query: `SELECT version, name, checksum FROM ${database}.schema_migrations FINAL`, format: 'JSONEachRow' })
  const recorded = new Map((await result.json<{ version: number; name: string; checksum: string }>()).map((row) => [Number(row.version), row]))

  const applied: string[] = []
  for (const [index, migration] of migrations.entries()) {
    const previous = recorded.get(migration.version)
    if (previous) {
      if (previous.checksum !== migration.checksum) {
        throw new Error(`migration ${migration.version}_${migration.name} was changed after it was applied; add a new migration instead`)
      }
      continue
    }
    logger.info({ migration: `${migration.version}_${migration.name}`, step: `${index + 1}/${migrations.length}` }, 'applying migration')
    for (const statement of migration.statements) {
      await client.command({ query: statement.replaceAll('{database}', database) })
    }
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      format: 'JSONEachRow',
    })
    applied.push(`${migration.version}_${migration.name}`)
  }
  await applyRetention(client, database, options.retentionDays, logger)
  return { applied, alreadyApplied: migrations.length - applied.length }
}

/** Keeps each raw table's TTL equal to the configured retention, touching only tables that differ. */
async function applyRetention(client: ClickHouseClient, database: string, days: number, logger: Logger): Promise<void> {
  const result = await client.query({
    query: 'SELECT name, engine_full FROM system.tables WHERE database = {database:String} AND name IN {tables:Array(String)}',
    query_params: { database, tables: [...RETAINED_TABLES] },
    format: 'JSONEachRow',
  })
  for (const { name, engine_full } of await result.json<{ name: string; engine_full: string }>()) {
    if (engine_full.includes(`toIntervalDay(${days})`)) continue
    logger.info({ table: name, days }, 'changing retention')
    await client.command({ query: `ALTER TABLE ${database}.${name} MODIFY TTL toDateTime(ts) + toIntervalDay(${Math.trunc(days)})` })
  }
}
