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
 * The id a schema gets without a central registry: 31 bits of the SHA-256 fingerprint of its
 * Parsing Canonical Form. Every process computes the same id for the same schema, so producers
 * and processors on different machines agree without coordinating.
 */
export function localSchemaId(schema: avro.Schema): number {
  return avro.Type.forSchema(schema).fingerprint('sha256').readUInt32BE(0) & 0x7fffffff
}

/**
 * A file-backed registry for when no Schema Registry is configured: the subjects' versions in one
 * JSON file in the data dir, ids from the schema fingerprint, and every schema version this build
 * ships (`known`) resolvable by id, so a message written by an older or newer Eddy is readable by
 * any process that ships its schema. It enforces the same BACKWARD compatibility rule as the
 * Confluent registry would, so a change refused in production is refused on a laptop too.
 */
export class LocalSchemaRegistry implements SchemaRegistry {
  readonly kind = 'local' as const
  private readonly schemas: StoredSchema[]
  private readonly known = new Map<number, avro.Schema>()

  constructor(private readonly file: string, known: readonly avro.Schema[] = []) {
    this.schemas = LocalSchemaRegistry.read(file)
    for (const schema of known) this.known.set(localSchemaId(schema), schema)
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
    const id = localSchemaId(canonical)
    this.schemas.push({ id, subject, version: versions.length + 1, schema: canonical })
    this.persist()
    return id
  }

  async schemaById(id: number): Promise<avro.Schema> {
    const found = this.schemas.find((s) => s.id === id)?.schema ?? this.known.get(id)
    if (!found) throw new UnknownSchemaError(id)
    return found
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
