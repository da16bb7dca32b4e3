import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs'
import { dirname } from 'node:path'
import avro from 'avsc'
import { IncompatibleSchemaError, UnknownSchemaError, type SchemaRegistry } from './port.ts'

interface StoredSchema {
  id: number
  subject: string
  version: number
  schema: avro.Schema
}

/**
 * A file-backed registry for the embedded mode: one JSON file in the data dir. It enforces the
 * same BACKWARD compatibility rule as the Confluent registry would, so a schema change that would
 * be refused in production is refused on a laptop too.
 */
export class LocalSchemaRegistry implements SchemaRegistry {
  readonly kind = 'local' as const
  private readonly schemas: StoredSchema[]

  constructor(private readonly file: string) {
    this.schemas = LocalSchemaRegistry.read(file)
  }

  async register(subject: string, schema: avro.Schema): Promise<number> {
    const canonical = avro.Type.forSchema(schema).schema({ exportAttrs: true })
    const fingerprint = JSON.stringify(canonical)
    const existing = this.schemas.find(
      (s) => s.subject === subject && JSON.stringify(avro.Type.forSchema(s.schema).schema({ exportAttrs: true })) === fingerprint,
    )
    if (existing) return existing.id
    const versions = this.schemas.filter((s) => s.subject === subject)
    const latest = versions.at(-1)
    if (latest) assertBackwardCompatible(subject, canonical, latest.schema)
    // Like Confluent, one id per distinct schema across subjects.
    const sameSchema = this.schemas.find((s) => JSON.stringify(avro.Type.forSchema(s.schema).schema({ exportAttrs: true })) === fingerprint)
    const id = sameSchema?.id ?? this.schemas.reduce((max, s) => Math.max(max, s.id), 0) + 1
    this.schemas.push({ id, subject, version: versions.length + 1, schema: canonical })
    this.persist()
    return id
  }

  async schemaById(id: number): Promise<avro.Schema> {
    const found = this.schemas.find((s) => s.id === id)
    if (!found) throw new UnknownSchemaError(id)
    return found.schema
  }

  private persist(): void {
    mkdirSync(dirname(this.file), { recursive: true })
    const temporary = `${this.file}.tmp`
    writeFileSync(temporary, JSON.stringify({ schemas: this.schemas }, null, 2))
    const fd = openSync(temporary, 'r')
    fsyncSync(fd)
    closeSync(fd)
    renameSync(temporary, this.file)
  }

  private static read(file: string): StoredSchema[] {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { schemas: StoredSchema[] }).schemas
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw new Error(`cannot read the schema registry file ${file}: ${(error as Error).message}`)
    }
  }
}

/** BACKWARD: a reader with the new schema must decode data written with the previous one. */
export function assertBackwardCompatible(subject: string, newer: avro.Schema, previous: avro.Schema): void {
  try {
    avro.Type.forSchema(newer).createResolver(avro.Type.forSchema(previous))
  } catch (error) {
    throw new IncompatibleSchemaError(subject, (error as Error).message)
  }
}
