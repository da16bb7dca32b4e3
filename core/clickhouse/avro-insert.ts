import { randomUUID } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { ClickHouseClient } from '@clickhouse/client'

/** Inserts an Avro object container (avro-container.ts) into a table, resolving once it is written. */
export type AvroInsert = (table: string, container: Buffer) => Promise<void>

/**
 * Settings for every Avro insert: a null in an optional field becomes the column's default (the
 * raw tables keep '' rather than Nullable columns), and a column the writer schema lacks takes its
 * default too.
 */
const AVRO_SETTINGS = { input_format_null_as_default: 1, input_format_avro_allow_missing_fields: 1 } as const

/** A ClickHouse server: the container is the body of `INSERT … FORMAT Avro`. */
export function httpAvroInsert(client: ClickHouseClient): AvroInsert {
  return async (table, container) => {
    const result = await client.exec({ query: `INSERT INTO ${table} FORMAT Avro`, values: Readable.from([container]), clickhouse_settings: AVRO_SETTINGS })
    for await (const _ of result.stream) {
      // Drained so the connection is released; an INSERT answers with nothing.
    }
  }
}

/**
 * The embedded engine (chDB): its in-process insert takes a statement's data as text only, so the
 * container goes through a file in `stagingDir` that the engine reads with INSERT … FROM INFILE.
 * The file is written to the page cache and removed once the insert is done; nothing is fsynced,
 * because the insert itself is what must be durable.
 */
export function fileAvroInsert(client: ClickHouseClient, stagingDir: string): AvroInsert {
  // One process owns an embedded engine and its data dir: files left here are from one that died.
  rmSync(stagingDir, { recursive: true, force: true })
  mkdirSync(stagingDir, { recursive: true })
  return async (table, container) => {
    const path = join(stagingDir, `${randomUUID()}.avro`)
    try {
      // Written and removed off the event loop: a batch is megabytes, copied on the processors' thread otherwise.
      await writeFile(path, container)
      await client.command({ query: `INSERT INTO ${table} FROM INFILE ${stringLiteral(path)} FORMAT Avro`, clickhouse_settings: AVRO_SETTINGS })
    } finally {
      await rm(path, { force: true })
    }
  }
}

/** INFILE takes a literal, not a query parameter: the data dir may hold any character. */
export function stringLiteral(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}
