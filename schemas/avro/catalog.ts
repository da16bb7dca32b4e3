import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import avro from 'avsc'

/** The three event streams Eddy carries; each has its own topic and schema subject. */
export const STREAMS = ['click', 'log', 'notification'] as const
export type Stream = (typeof STREAMS)[number]

export interface SchemaVersion {
  readonly stream: Stream
  readonly version: number
  readonly schema: avro.Schema
  readonly type: avro.Type
}

const AVRO_DIR = dirname(fileURLToPath(import.meta.url))
const FILE_NAME = /^(click|log|notification)\.v(\d+)\.avsc$/

/** Every schema version shipped in schemas/avro, oldest first per stream. */
export function loadSchemaCatalog(directory = AVRO_DIR): SchemaVersion[] {
  const versions: SchemaVersion[] = []
  for (const file of readdirSync(directory).sort()) {
    const match = FILE_NAME.exec(file)
    if (!match) continue
    const schema = JSON.parse(readFileSync(join(directory, file), 'utf8')) as avro.Schema
    versions.push({
      stream: match[1] as Stream,
      version: Number(match[2]),
      schema,
      type: avro.Type.forSchema(schema),
    })
  }
  return versions.sort((a, b) => a.stream.localeCompare(b.stream) || a.version - b.version)
}

/** The newest version of each stream: what ingest writes and processors read with. */
export function latestSchemas(catalog = loadSchemaCatalog()): Record<Stream, SchemaVersion> {
  const latest = {} as Record<Stream, SchemaVersion>
  for (const entry of catalog) {
    const current = latest[entry.stream]
    if (!current || current.version < entry.version) latest[entry.stream] = entry
  }
  for (const stream of STREAMS) {
    if (!latest[stream]) throw new Error(`no Avro schema for stream "${stream}" in schemas/avro`)
  }
  return latest
}
