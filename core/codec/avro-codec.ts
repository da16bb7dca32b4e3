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

/** A reader type (a stream's, or a projection of it) and how it reads each writer schema id. */
interface Reading {
  readonly type: avro.Type
  readonly resolvers: Map<number, avro.Resolver | avro.Type | string>
  /** For a projection: the stream's whole reading, whose refusals it shares. */
  readonly whole?: Reading
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
  /** How each stream's reader reads each writer schema. */
  private readonly wholeReadings = new Map<Stream, Reading>()
  /** By stream and fields; and by the field list a caller passes on every decode, so no key is built per message. */
  private readonly projections = new Map<string, Reading>()
  private readonly projectionsByList = new WeakMap<readonly string[], Map<Stream, Reading>>()
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

  private wholeReading(stream: Stream): Reading {
    let reading = this.wholeReadings.get(stream)
    if (!reading) this.wholeReadings.set(stream, (reading = { type: this.readers[stream], resolvers: new Map() }))
    return reading
  }

  /**
   * The stream's reader record with only `fields`: decoding into it skips the other fields' bytes
   * without building their strings and maps, which for a click is more than half the decode.
   */
  private projection(stream: Stream, fields: readonly string[]): Reading {
    let byStream = this.projectionsByList.get(fields)
    if (!byStream) this.projectionsByList.set(fields, (byStream = new Map()))
    let reading = byStream.get(stream)
    if (reading) return reading
    const key = `${stream}:${fields.join(',')}`
    reading = this.projections.get(key)
    if (!reading) {
      const schema = this.readerSchema(stream) as avro.Schema & { fields: Array<{ name: string }> }
      const unknown = fields.filter((field) => !schema.fields.some((known) => known.name === field))
      if (unknown.length > 0) throw new Error(`${stream} events have no field(s) ${unknown.join(', ')}`)
      const type = avro.Type.forSchema({ ...(schema as object), fields: schema.fields.filter((field) => fields.includes(field.name)) } as avro.Schema)
      this.projections.set(key, (reading = { type, resolvers: new Map(), whole: this.wholeReading(stream) }))
    }
    byStream.set(stream, reading)
    return reading
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
    const reading = fields === undefined ? this.wholeReading(stream) : this.projection(stream, fields)
    const reader = reading.type
    const resolver = this.resolver(stream, reading, schemaId, writer)
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

  /**
   * How a reading reads `writer`'s bytes (its type itself when they are one), or why it cannot; both
   * cached, as a writer schema never changes. A projection refuses what its whole reader refuses: a
   * writer without a field the reader needs (and has no default for) would otherwise pass through
   * the fields it skips, and fail later where the event is needed whole.
   */
  private resolver(stream: Stream, reading: Reading, schemaId: number, writer: avro.Type): avro.Resolver | avro.Type | string {
    let resolver = reading.resolvers.get(schemaId)
    if (resolver === undefined) {
      const refused = reading.whole === undefined ? undefined : this.resolver(stream, reading.whole, schemaId, writer)
      if (typeof refused === 'string') resolver = refused
      else {
        try {
          resolver = writer === reading.type ? reading.type : reading.type.createResolver(writer)
        } catch (error) {
          resolver = `writer schema ${schemaId} cannot be read as ${stream}: ${(error as Error).message}`
        }
      }
      reading.resolvers.set(schemaId, resolver)
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
