import avro from 'avsc'
import type { SchemaRegistry } from '../registry/port.ts'
import { latestSchemas, type Stream } from '../../schemas/avro/catalog.ts'
import type { ClickEvent, LogEvent, NotificationEvent } from '../../schemas/types.generated.ts'
import { frame, HEADER_LENGTH, MAGIC_BYTE, unframe } from './wire-format.ts'

export interface EventByStream {
  click: ClickEvent
  log: LogEvent
  notification: NotificationEvent
}

export type Decoded<S extends Stream> =
  | { ok: true; value: EventByStream[S]; schemaId: number }
  | { ok: false; reason: string; schemaId?: number; unknownSchema?: boolean }

/**
 * Encodes events with the newest schema of their stream and decodes messages written with any
 * registered version, resolving the writer's schema into the reader's (Avro schema resolution).
 *
 * encode/decode are synchronous because they sit on the hot path; the only asynchronous part,
 * fetching an unknown writer schema, is `loadSchema`, which the caller runs when `decode` reports
 * `unknownSchema`.
 */
export class AvroCodec {
  private readonly writerIds = new Map<Stream, number>()
  private readonly readers: Record<Stream, avro.Type>
  private readonly readerSchemas = new Map<Stream, avro.Schema>()
  private readonly writerTypes = new Map<number, avro.Type>()
  /** By reader (a stream, or a stream's projection), then by writer schema id. */
  private readonly resolvers = new Map<string, Map<number, avro.Resolver | avro.Type>>()
  private readonly projections = new Map<string, avro.Type>()
  private readonly scratch = Buffer.allocUnsafe(64 * 1024)

  private constructor(private readonly registry: SchemaRegistry, readers: Record<Stream, avro.Type>) {
    this.readers = readers
  }

  /** Registers the newest schema of every stream under `<topic>-value` and returns a ready codec. */
  static async create(registry: SchemaRegistry, topics: Record<Stream, string>, readers?: Partial<Record<Stream, avro.Schema>>): Promise<AvroCodec> {
    const latest = latestSchemas()
    const readerTypes = {} as Record<Stream, avro.Type>
    for (const stream of Object.keys(topics) as Stream[]) {
      const schema = readers?.[stream] ?? latest[stream].schema
      readerTypes[stream] = avro.Type.forSchema(schema)
    }
    const codec = new AvroCodec(registry, readerTypes)
    for (const stream of Object.keys(topics) as Stream[]) {
      const writer = readerTypes[stream]
      const id = await registry.register(`${topics[stream]}-value`, writer.schema({ exportAttrs: true }))
      codec.writerIds.set(stream, id)
      codec.writerTypes.set(id, writer)
    }
    return codec
  }

  schemaId(stream: Stream): number {
    const id = this.writerIds.get(stream)
    if (id === undefined) throw new Error(`stream "${stream}" has no registered writer schema`)
    return id
  }

  encode<S extends Stream>(stream: S, event: EventByStream[S]): Buffer {
    // Encode straight after the 5-byte header in a scratch buffer, then copy once: half the
    // allocations and copies of encoding and framing separately, on the hottest path of ingest.
    const scratch = this.scratch
    scratch[0] = MAGIC_BYTE
    scratch.writeUInt32BE(this.schemaId(stream), 1)
    const end = this.readers[stream].encode(event, scratch, HEADER_LENGTH)
    if (end < 0) return frame(this.schemaId(stream), this.readers[stream].toBuffer(event))
    return Buffer.from(scratch.subarray(0, end))
  }

  /**
   * Encodes many events into one buffer and returns a view per event: one allocation per request
   * instead of one per event, which is most of what encoding costs at ingest's batch sizes.
   */
  encodeMany<S extends Stream>(stream: S, events: readonly EventByStream[S][]): Buffer[] {
    const type = this.readers[stream]
    const id = this.schemaId(stream)
    let buffer = Buffer.allocUnsafe(Math.max(4_096, events.length * 512))
    const bounds: number[] = new Array(events.length + 1)
    let position = 0
    bounds[0] = 0
    for (let index = 0; index < events.length; index++) {
      for (;;) {
        buffer[position] = MAGIC_BYTE
        buffer.writeUInt32BE(id, position + 1)
        const end = buffer.length - position > HEADER_LENGTH ? type.encode(events[index], buffer, position + HEADER_LENGTH) : -1
        if (end > 0) {
          position = end
          break
        }
        // Too small: grow (avsc reports how many bytes were missing as a negative number).
        const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, position + HEADER_LENGTH - end + 1_024))
        buffer.copy(grown, 0, 0, position)
        buffer = grown
      }
      bounds[index + 1] = position
    }
    const views: Buffer[] = new Array(events.length)
    for (let index = 0; index < events.length; index++) views[index] = buffer.subarray(bounds[index]!, bounds[index + 1]!)
    return views
  }

  /** The schema events of `stream` are read with (and written with by this codec); built once per stream, as every raw batch asks. */
  readerSchema(stream: Stream): avro.Schema {
    let schema = this.readerSchemas.get(stream)
    if (!schema) this.readerSchemas.set(stream, (schema = this.readers[stream].schema({ exportAttrs: true })))
    return schema
  }

  /**
   * A decoded message's body in the reader schema: the bytes it arrived in when its writer schema
   * is the reader's (every event this version of Eddy ingested), else `event` encoded again, so
   * an older or newer producer's event carries the reader's fields and defaults, as decoded.
   */
  readerDatum<S extends Stream>(stream: S, message: Buffer): { ok: true; datum: Buffer } | { ok: false; reason: string } {
    const id = message.readUInt32BE(1)
    if (this.writerTypes.get(id) === this.readers[stream]) return { ok: true, datum: message.subarray(HEADER_LENGTH) }
    const decoded = this.decode(stream, message)
    return decoded.ok ? { ok: true, datum: this.readers[stream].toBuffer(decoded.value) } : { ok: false, reason: decoded.reason }
  }

  /**
   * The stream's reader record with only `fields`: decoding into it skips the other fields' bytes
   * without building their strings and maps, which for a click is more than half the decode.
   */
  private projection(stream: Stream, fields: readonly string[]): { key: string; type: avro.Type } {
    const key = `${stream}:${fields.join(',')}`
    let type = this.projections.get(key)
    if (!type) {
      const schema = this.readerSchema(stream) as avro.Schema & { fields: Array<{ name: string }> }
      const unknown = fields.filter((field) => !schema.fields.some((known) => known.name === field))
      if (unknown.length > 0) throw new Error(`${stream} events have no field(s) ${unknown.join(', ')}`)
      type = avro.Type.forSchema({ ...(schema as object), fields: schema.fields.filter((field) => fields.includes(field.name)) } as avro.Schema)
      this.projections.set(key, type)
    }
    return { key, type }
  }

  /** Checks an event against the stream's schema; returns the paths of invalid fields. */
  invalidPaths<S extends Stream>(stream: S, event: unknown): string[] {
    const paths: string[] = []
    this.readers[stream].isValid(event, { errorHook: (path) => paths.push(path.join('.')) })
    return paths
  }

  /**
   * `fields`: decode only these (a job that reads a few of a click's fields). The value is then a
   * partial event; everything else about decoding, validation included, is the same.
   */
  decode<S extends Stream>(stream: S, message: Buffer, fields?: readonly string[]): Decoded<S> {
    const unframed = unframe(message)
    if (!unframed.ok) return { ok: false, reason: unframed.reason }
    const { schemaId, body } = unframed
    const writer = this.writerTypes.get(schemaId)
    if (!writer) return { ok: false, reason: `schema id ${schemaId} is not loaded`, schemaId, unknownSchema: true }
    // A projection must refuse what the whole reader refuses: a writer schema without a field the
    // reader needs (and has no default for) would otherwise pass through the fields it skips.
    const whole = this.resolver(stream, stream, this.readers[stream], schemaId, writer)
    if (typeof whole === 'string') return { ok: false, reason: whole, schemaId }
    const projection = fields === undefined ? undefined : this.projection(stream, fields)
    const reader = projection?.type ?? this.readers[stream]
    const resolver = projection === undefined ? whole : this.resolver(stream, projection.key, projection.type, schemaId, writer)
    if (typeof resolver === 'string') return { ok: false, reason: resolver, schemaId }
    try {
      const value = resolver === reader
        ? reader.fromBuffer(body)
        : reader.fromBuffer(body, resolver as avro.Resolver)
      return { ok: true, value: value as EventByStream[S], schemaId }
    } catch (error) {
      return { ok: false, reason: `undecodable Avro body for schema ${schemaId}: ${(error as Error).message}`, schemaId }
    }
  }

  /** How `reader` reads `writer`'s bytes (itself when they are one type), cached; or why it cannot. */
  private resolver(stream: Stream, readerKey: string, reader: avro.Type, schemaId: number, writer: avro.Type): avro.Resolver | avro.Type | string {
    let byWriter = this.resolvers.get(readerKey)
    if (!byWriter) this.resolvers.set(readerKey, (byWriter = new Map()))
    let resolver = byWriter.get(schemaId)
    if (!resolver) {
      try {
        resolver = writer === reader ? reader : reader.createResolver(writer)
      } catch (error) {
        return `writer schema ${schemaId} cannot be read as ${stream}: ${(error as Error).message}`
      }
      byWriter.set(schemaId, resolver)
    }
    return resolver
  }

  /** Fetches a writer schema the codec has not seen (e.g. written by a newer or older producer). */
  async loadSchema(schemaId: number): Promise<void> {
    if (this.writerTypes.has(schemaId)) return
    const schema = await this.registry.schemaById(schemaId)
    this.writerTypes.set(schemaId, avro.Type.forSchema(schema))
  }
}
