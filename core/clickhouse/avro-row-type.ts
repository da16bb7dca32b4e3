import avro from 'avsc'
import type { ClickHouseClient } from '@clickhouse/client'

/**
 * The Avro record a table's rows are written as, derived from the table's own columns, so the
 * processors' aggregate rows reach ClickHouse in a format it reads several times faster than JSON
 * (and that is cheaper to produce), without a second schema to keep in step with the migrations.
 *
 * Rows carry each column by name. A column with a DEFAULT (or EPHEMERAL) expression may be left out
 * of a row: it is written as null, which the insert turns into the default (input_format_null_as_default),
 * and a row that carries it writes its value, as JSON rows did. MATERIALIZED and ALIAS columns
 * cannot be inserted and are not in the record.
 */

export interface ColumnDescription {
  readonly name: string
  readonly type: string
  /** system.columns' default_kind: '' for a plain column, else DEFAULT, MATERIALIZED, ALIAS or EPHEMERAL. */
  readonly defaultKind: string
}

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The Avro type for a ClickHouse column type, or an error naming what has no mapping. */
export function avroTypeOf(clickhouseType: string): avro.Schema {
  const wrapped = /^(Nullable|LowCardinality)\((.*)\)$/.exec(clickhouseType)
  if (wrapped) {
    const inner = avroTypeOf(wrapped[2]!)
    return wrapped[1] === 'Nullable' ? (['null', inner] as avro.Schema) : inner
  }
  if (clickhouseType === 'String') return 'string'
  if (clickhouseType === 'Bool') return 'boolean'
  if (/^(U?Int(8|16)|Int32)$/.test(clickhouseType)) return 'int'
  if (/^(UInt32|U?Int64)$/.test(clickhouseType)) return 'long'
  if (clickhouseType === 'Float32') return 'float'
  if (clickhouseType === 'Float64') return 'double'
  // DateTime takes seconds since the epoch as a plain long; DateTime64 the logical timestamps.
  if (/^DateTime(\('[^']*'\))?$/.test(clickhouseType)) return 'long'
  const precise = /^DateTime64\((\d+)(, *'[^']*')?\)$/.exec(clickhouseType)
  if (precise?.[1] === '3') return { type: 'long', logicalType: 'timestamp-millis' }
  if (precise?.[1] === '6') return { type: 'long', logicalType: 'timestamp-micros' }
  throw new Error(`no Avro type for the ClickHouse type ${clickhouseType}`)
}

export function avroRowType(table: string, columns: readonly ColumnDescription[]): avro.Type {
  const fields = columns
    .filter((column) => column.defaultKind !== 'MATERIALIZED' && column.defaultKind !== 'ALIAS')
    .map((column) => {
      if (!AVRO_NAME.test(column.name)) throw new Error(`column ${table}.${column.name} has a name Avro cannot carry`)
      let type: avro.Schema
      try {
        type = avroTypeOf(column.type)
      } catch (error) {
        throw new Error(`column ${table}.${column.name}: ${(error as Error).message}`)
      }
      if (column.defaultKind === '') return { name: column.name, type }
      return { name: column.name, type: Array.isArray(type) ? type : ['null', type], default: null }
    })
  if (fields.length === 0) throw new Error(`table ${table} has no columns to write`)
  return avro.Type.forSchema({ type: 'record', name: `row_${table.replace(/[^A-Za-z0-9_]/g, '_')}`, fields } as avro.Schema)
}

/** Reads the columns of `database.table` and derives its row type. */
export async function tableRowType(client: ClickHouseClient, database: string, table: string): Promise<avro.Type> {
  const result = await client.query({
    query: 'SELECT name, type, default_kind AS defaultKind FROM system.columns WHERE database = {database:String} AND table = {table:String} ORDER BY position',
    query_params: { database, table },
    format: 'JSONEachRow',
  })
  const columns = await result.json<ColumnDescription>()
  if (columns.length === 0) throw new Error(`table ${database}.${table} does not exist`)
  return avroRowType(`${database}.${table}`, columns)
}
