import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import avro from 'avsc'
import { afterEach, describe, expect, it } from 'vitest'
import { loadSchemaCatalog, latestSchemas } from '../../schemas/avro/catalog.ts'
import { SAMPLES } from '../../schemas/avro/fixtures/samples.ts'
import { LocalSchemaRegistry, localSchemaId } from '../registry/local.ts'
import { IncompatibleSchemaError } from '../registry/port.ts'
import { AvroCodec } from './avro-codec.ts'
import { frame, unframe } from './wire-format.ts'

const FIXTURES = join(import.meta.dirname, '../../schemas/avro/fixtures')
const TOPICS = { click: 'eddy.clicks', log: 'eddy.logs', notification: 'eddy.notifications' } as const
const catalog = loadSchemaCatalog()
const schemaOf = (stream: string, version: number) => catalog.find((s) => s.stream === stream && s.version === version)!
const fixture = (name: string) => readFileSync(join(FIXTURES, name))

const directories: string[] = []
function registry(known: avro.Schema[] = []): LocalSchemaRegistry {
  const directory = mkdtempSync(join(tmpdir(), 'eddy-registry-'))
  directories.push(directory)
  return new LocalSchemaRegistry(join(directory, 'registry.json'), known)
}
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

describe('Confluent wire format', () => {
  it('is magic byte 0, a big-endian 4-byte schema id, then the Avro body', () => {
    const framed = frame(0x01020304, Buffer.from([0xaa, 0xbb]))
    expect([...framed]).toEqual([0x00, 0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb])
    expect(unframe(framed)).toEqual({ ok: true, schemaId: 0x01020304, body: Buffer.from([0xaa, 0xbb]) })
  })

  it('rejects short messages and a wrong magic byte with a reason', () => {
    expect(unframe(Buffer.from([0, 1]))).toMatchObject({ ok: false, reason: expect.stringContaining('shorter') })
    expect(unframe(Buffer.from([1, 0, 0, 0, 1, 2]))).toMatchObject({ ok: false, reason: expect.stringContaining('magic byte 1') })
  })
})

describe('AvroCodec', () => {
  it('round-trips every stream with the newest schemas and frames with the registered id', async () => {
    const codec = await AvroCodec.create(registry(), TOPICS)
    for (const stream of ['click', 'log', 'notification'] as const) {
      const bytes = codec.encode(stream, SAMPLES[stream] as never)
      expect(bytes[0]).toBe(0)
      expect(bytes.readUInt32BE(1)).toBe(codec.schemaId(stream))
      const decoded = codec.decode(stream, bytes)
      expect(decoded.ok && { ...decoded.value }).toEqual(SAMPLES[stream])
    }
  })

  it('encodes many events into views that decode one by one, growing its buffer as needed', async () => {
    const codec = await AvroCodec.create(registry(), TOPICS)
    const events = Array.from({ length: 50 }, (_, i) => ({ ...SAMPLES.log, message: 'm'.repeat(i * 300), event_id: SAMPLES.log.event_id }))
    const views = codec.encodeMany('log', events as never)
    expect(views).toHaveLength(50)
    views.forEach((view, i) => {
      expect(view.equals(codec.encode('log', events[i] as never))).toBe(true)
      const decoded = codec.decode('log', view)
      expect(decoded.ok && decoded.value.message.length).toBe(i * 300)
    })
  })

  it('encodes events larger than its scratch buffer', async () => {
    const codec = await AvroCodec.create(registry(), TOPICS)
    const big = { ...SAMPLES.log, message: 'x'.repeat(100_000) }
    const decoded = codec.decode('log', codec.encode('log', big as never))
    expect(decoded.ok && decoded.value.message.length).toBe(100_000)
    // And the scratch buffer is reusable afterwards.
    const small = codec.decode('log', codec.encode('log', SAMPLES.log as never))
    expect(small.ok && { ...small.value }).toEqual(SAMPLES.log)
  })

  it('registers schemas idempotently: a restart gets the same ids', async () => {
    const shared = registry()
    const first = await AvroCodec.create(shared, TOPICS)
    const second = await AvroCodec.create(shared, TOPICS)
    expect(second.schemaId('click')).toBe(first.schemaId('click'))
    expect(new Set([first.schemaId('click'), first.schemaId('log'), first.schemaId('notification')]).size).toBe(3)
  })

  it('reports an undecodable body instead of throwing', async () => {
    const codec = await AvroCodec.create(registry(), TOPICS)
    const garbage = frame(codec.schemaId('log'), Buffer.from([0xff, 0xff, 0xff]))
    expect(codec.decode('log', garbage)).toMatchObject({ ok: false, reason: expect.stringContaining('undecodable') })
    expect(codec.decode('log', frame(999, Buffer.alloc(4)))).toMatchObject({ ok: false, unknownSchema: true, schemaId: 999 })
  })

  it('lists the invalid fields of an event', async () => {
    const codec = await AvroCodec.create(registry(), TOPICS)
    expect(codec.invalidPaths('log', { ...SAMPLES.log, level: 'loud', ts: 'now' })).toEqual(['ts', 'level'])
  })
})

describe('schema evolution (click v1 ↔ v2)', () => {
  const v1 = schemaOf('click', 1)
  const v2 = schemaOf('click', 2)

  it('keeps a binary fixture for every schema version, decodable by that version', () => {
    for (const { stream, version, type } of catalog) {
      const value = type.fromBuffer(fixture(`${stream}.v${version}.bin`)) as Record<string, unknown>
      expect(value.event_id).toBe(SAMPLES[stream].event_id)
      // Fixtures are frozen bytes: re-encoding the decoded value must give them back exactly.
      expect(type.toBuffer(value).equals(fixture(`${stream}.v${version}.bin`))).toBe(true)
    }
  })

  it('v1 bytes decode with the v2 reader; the new field takes its default', () => {
    const value = v2.type.fromBuffer(fixture('click.v1.bin'), v2.type.createResolver(v1.type)) as Record<string, unknown>
    expect(value.visitor_hash).toBeNull()
    expect(value.path).toBe('/pricing')
    expect(value.properties).toEqual({ plan: 'pro' })
  })

  it('v2 bytes decode with the v1 reader; the new field is skipped', () => {
    const value = v1.type.fromBuffer(fixture('click.v2.bin'), v1.type.createResolver(v2.type)) as Record<string, unknown>
    expect(value).not.toHaveProperty('visitor_hash')
    expect(value.referrer_domain).toBe('news.example')
  })

  it('rolling upgrade: v1 and v2 codecs on one registry read each other\'s messages', async () => {
    const shared = registry()
    const v1Codec = await AvroCodec.create(shared, TOPICS, { click: v1.schema })
    const v2Codec = await AvroCodec.create(shared, TOPICS)
    expect(v2Codec.schemaId('click')).not.toBe(v1Codec.schemaId('click'))

    const fromV2 = v2Codec.encode('click', SAMPLES.click as never)
    // The v1 process has never seen the v2 writer schema: decode says so, loadSchema fetches it.
    expect(v1Codec.decode('click', fromV2)).toMatchObject({ ok: false, unknownSchema: true })
    await v1Codec.loadSchema(fromV2.readUInt32BE(1))
    const readByV1 = v1Codec.decode('click', fromV2)
    expect(readByV1.ok && readByV1.value.path).toBe('/pricing')
    expect(readByV1.ok && 'visitor_hash' in readByV1.value).toBe(false)

    const { visitor_hash: _dropped, ...v1Event } = SAMPLES.click
    const fromV1 = v1Codec.encode('click', v1Event as never)
    await v2Codec.loadSchema(fromV1.readUInt32BE(1))
    const readByV2 = v2Codec.decode('click', fromV1)
    expect(readByV2.ok && readByV2.value.visitor_hash).toBeNull()
  })

  it('gives raw storage each event as a datum of the reader schema: its own bytes, or an older writer\'s event encoded again', async () => {
    const shared = registry()
    const v1Codec = await AvroCodec.create(shared, TOPICS, { click: v1.schema })
    const v2Codec = await AvroCodec.create(shared, TOPICS)
    const fromV2 = v2Codec.encode('click', SAMPLES.click as never)
    const own = v2Codec.readerDatum('click', fromV2)
    if (!own.ok) throw new Error(own.reason)
    expect(own.datum.buffer).toBe(fromV2.buffer) // a view, not a copy
    expect(own.datum.equals(fromV2.subarray(5))).toBe(true)

    const { visitor_hash: _dropped, ...v1Event } = SAMPLES.click
    const fromV1 = v1Codec.encode('click', v1Event as never)
    await v2Codec.loadSchema(fromV1.readUInt32BE(1))
    const upgraded = v2Codec.readerDatum('click', fromV1)
    if (!upgraded.ok) throw new Error(upgraded.reason)
    expect(avro.Type.forSchema(v2Codec.readerSchema('click')).fromBuffer(upgraded.datum)).toEqual({ ...v1Event, visitor_hash: null })
  })

  it('decodes only the fields asked for, from the newest and from an older writer schema, and refuses a field the stream lacks', async () => {
    const shared = registry()
    const v1Codec = await AvroCodec.create(shared, TOPICS, { click: v1.schema })
    const v2Codec = await AvroCodec.create(shared, TOPICS)
    const fields = ['event_id', 'ts', 'path', 'visitor_hash']
    const fromV2 = v2Codec.decode('click', v2Codec.encode('click', SAMPLES.click as never), fields)
    expect(fromV2).toMatchObject({ ok: true, value: { event_id: SAMPLES.click.event_id, ts: SAMPLES.click.ts, path: SAMPLES.click.path, visitor_hash: SAMPLES.click.visitor_hash } })
    expect(Object.keys(fromV2.ok ? fromV2.value : {}).sort()).toEqual([...fields].sort())
    const { visitor_hash: _dropped, ...v1Event } = SAMPLES.click
    const fromV1 = v1Codec.encode('click', v1Event as never)
    await v2Codec.loadSchema(fromV1.readUInt32BE(1))
    expect(v2Codec.decode('click', fromV1, fields)).toMatchObject({ ok: true, value: { event_id: SAMPLES.click.event_id, visitor_hash: null } })
    expect(() => v2Codec.decode('click', fromV1, ['event_id', 'no_such_field'])).toThrow('click events have no field(s) no_such_field')
  })

  it('refuses, with only some fields asked for, what it refuses whole: a writer without a field the reader needs', async () => {
    const shared = registry()
    const reader = await AvroCodec.create(shared, TOPICS)
    const full = reader.readerSchema('click') as { fields: Array<{ name: string; default?: unknown }> }
    const required = full.fields.find((field) => field.default === undefined && !['event_id', 'ts'].includes(field.name))!
    // A producer whose schema dropped a field that has no default in ours.
    const dropped = { ...(full as object), fields: full.fields.filter((field) => field.name !== required.name) } as avro.Schema
    const producer = await AvroCodec.create(shared, TOPICS, { click: dropped })
    const { [required.name as keyof typeof SAMPLES.click]: _gone, ...event } = SAMPLES.click
    const message = producer.encode('click', event as never)
    await reader.loadSchema(message.readUInt32BE(1))
    expect(reader.decode('click', message)).toMatchObject({ ok: false, reason: expect.stringContaining('cannot be read as click') })
    expect(reader.decode('click', message, ['event_id', 'ts'])).toMatchObject({ ok: false, reason: expect.stringContaining('cannot be read as click') })
  })

  it('without a central registry, processes agree on ids and resolve every shipped version', async () => {
    const shipped = catalog.map((version) => version.schema)
    // Two processes with registry files of their own, as on two machines.
    const producerV1 = await AvroCodec.create(registry(), TOPICS, { click: v1.schema })
    const processorV2 = await AvroCodec.create(registry(shipped), TOPICS)
    const message = producerV1.encode('click', (({ visitor_hash: _, ...rest }) => rest)(SAMPLES.click) as never)
    expect(message.readUInt32BE(1)).toBe(localSchemaId(v1.schema))
    await processorV2.loadSchema(message.readUInt32BE(1))
    const decoded = processorV2.decode('click', message)
    expect(decoded.ok && decoded.value.path).toBe('/pricing')
    expect(decoded.ok && decoded.value.visitor_hash).toBeNull()
  })

  it('the registry refuses a change that is not BACKWARD compatible', async () => {
    const shared = registry()
    await shared.register('eddy.clicks-value', v1.schema)
    await expect(shared.register('eddy.clicks-value', v2.schema)).resolves.toBeGreaterThan(0)
    const breaking = JSON.parse(JSON.stringify(v2.schema)) as { fields: Array<Record<string, unknown>> }
    breaking.fields.push({ name: 'tenant', type: 'string' }) // required, no default: old data cannot be read
    await expect(shared.register('eddy.clicks-value', breaking as avro.Schema)).rejects.toBeInstanceOf(IncompatibleSchemaError)
  })

  it('the newest schema is what the codec writes', () => {
    expect(latestSchemas().click.version).toBe(2)
  })
})
