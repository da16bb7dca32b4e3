/**
 * The Confluent adapter against a real registry (SCHEMA_REGISTRY_URL; CI starts Apicurio Registry's
 * Confluent API with infra/schema-registry/ci-env.sh). Each run uses subjects of its own, so runs
 * and other suites sharing the registry do not see each other's versions.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import avro from 'avsc'
import { describe, expect, it } from 'vitest'
import { loadSchemaCatalog } from '../../schemas/avro/catalog.ts'
import { SAMPLES } from '../../schemas/avro/fixtures/samples.ts'
import { describeWithService } from '../../test/support/services.ts'
import { AvroCodec } from '../codec/avro-codec.ts'
import { ConfluentSchemaRegistry, SchemaRegistryError } from './confluent.ts'
import { IncompatibleSchemaError, UnknownSchemaError } from './port.ts'

const catalog = loadSchemaCatalog()
const schemaOf = (stream: string, version: number) => catalog.find((s) => s.stream === stream && s.version === version)!
const v1 = schemaOf('click', 1)
const v2 = schemaOf('click', 2)
/** v2 plus a required field: a v3 reader could not read what v2 wrote. */
const breaking = (() => {
  const schema = JSON.parse(JSON.stringify(v2.schema)) as { fields: Array<Record<string, unknown>> }
  schema.fields.push({ name: 'tenant', type: 'string' })
  return schema as avro.Schema
})()
const fingerprint = (schema: avro.Schema) => avro.Type.forSchema(schema).fingerprint('sha256').toString('hex')

describeWithService('schema-registry', 'SCHEMA_REGISTRY_URL', 'ConfluentSchemaRegistry against a real registry', (url) => {
  const run = `eddy-test-${randomUUID().slice(0, 8)}`
  let subjects = 0
  const subject = () => `${run}.s${++subjects}-value`
  const topics = () => ({ click: `${run}.clicks${++subjects}`, log: `${run}.logs${subjects}`, notification: `${run}.notifications${subjects}` })

  /** The registry's REST API without the adapter, to set up and inspect subjects. */
  async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${url.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: response.status, json: await response.json() }
  }

  it('registers every shipped schema and returns the same ids again, from any process', async () => {
    const registry = new ConfluentSchemaRegistry(url)
    const registered = new Map<string, number>()
    for (const { stream, version, schema } of catalog) {
      registered.set(`${stream}.v${version}`, await registry.register(`${run}.${stream}-value`, schema))
    }
    expect(new Set(registered.values()).size).toBe(catalog.length)
    for (const id of registered.values()) expect(id).toBeGreaterThan(0)

    // A restart (or another process) registering the same schemas gets the same ids and adds no versions.
    const again = new ConfluentSchemaRegistry(url)
    for (const { stream, version, schema } of catalog) {
      expect(await again.register(`${run}.${stream}-value`, schema)).toBe(registered.get(`${stream}.v${version}`))
    }
    expect((await rest('GET', `/subjects/${run}.click-value/versions`)).json).toEqual([1, 2])
    // However the schema is spelled (here: keys in another order), the adapter sends one text per
    // schema; Apicurio, unlike Confluent, would otherwise store it as new content with a new id.
    const { fields, ...others } = v1.schema as { fields: unknown[] }
    const respelled = { fields, ...others } as avro.Schema
    expect(await again.register(`${run}.click-value`, respelled)).toBe(registered.get('click.v1'))
  })

  it('resolves ids back to the schemas, docs and logical types included', async () => {
    const writer = new ConfluentSchemaRegistry(url)
    const subjectName = subject()
    const ids = [await writer.register(subjectName, v1.schema), await writer.register(subjectName, v2.schema)]
    // A fresh adapter has nothing cached: the schemas come from the registry.
    const reader = new ConfluentSchemaRegistry(url)
    for (const [index, { schema }] of [v1, v2].entries()) {
      const resolved = await reader.schemaById(ids[index]!)
      expect(fingerprint(resolved)).toBe(fingerprint(schema))
      expect(avro.Type.forSchema(resolved).schema({ exportAttrs: true })).toEqual(avro.Type.forSchema(schema).schema({ exportAttrs: true }))
    }
    await expect(reader.schemaById(2_000_000_000)).rejects.toBeInstanceOf(UnknownSchemaError)
  })

  it('gives a new subject BACKWARD compatibility', async () => {
    const subjectName = subject()
    await new ConfluentSchemaRegistry(url).register(subjectName, v1.schema)
    expect((await rest('GET', `/config/${subjectName}`)).json).toMatchObject({ compatibilityLevel: 'BACKWARD' })
  })

  it('accepts a compatible v2 and refuses an incompatible one with the reason', async () => {
    const registry = new ConfluentSchemaRegistry(url)
    const subjectName = subject()
    const first = await registry.register(subjectName, v1.schema)
    const second = await registry.register(subjectName, v2.schema)
    expect(second).not.toBe(first)

    const refusal = await registry.register(subjectName, breaking).catch((error: unknown) => error)
    expect(refusal).toBeInstanceOf(IncompatibleSchemaError)
    expect((refusal as Error).message).toContain(`"${subjectName}" is not BACKWARD compatible`)
    expect((refusal as Error).message).toContain('409')
    expect((refusal as Error).message).toContain('tenant')
    expect((refusal as IncompatibleSchemaError).retriable).toBe(false)
    expect((await rest('GET', `/subjects/${subjectName}/versions`)).json).toEqual([1, 2])
  })

  it('refuses to register under a subject whose level would let breaking changes in, saying how to fix it', async () => {
    const subjectName = subject()
    expect((await rest('POST', `/subjects/${subjectName}/versions`, { schema: JSON.stringify(v1.schema) })).status).toBe(200)
    expect((await rest('PUT', `/config/${subjectName}`, { compatibility: 'NONE' })).status).toBe(200)

    const refusal = await new ConfluentSchemaRegistry(url).register(subjectName, breaking).catch((error: unknown) => error)
    expect(refusal).toBeInstanceOf(SchemaRegistryError)
    expect((refusal as SchemaRegistryError).retriable).toBe(false)
    expect((refusal as Error).message).toContain(`subject "${subjectName}" has compatibility NONE`)
    expect((refusal as Error).message).toContain(`PUT ${url.replace(/\/+$/, '')}/config/${subjectName} {"compatibility":"BACKWARD"}`)
    // A stricter level that still guarantees BACKWARD is fine.
    expect((await rest('PUT', `/config/${subjectName}`, { compatibility: 'FULL_TRANSITIVE' })).status).toBe(200)
    await expect(new ConfluentSchemaRegistry(url).register(subjectName, v2.schema)).resolves.toBeGreaterThan(0)
  })

  it('the codec round-trips every stream through it, framing with the registry\'s ids', async () => {
    const codec = await AvroCodec.create(new ConfluentSchemaRegistry(url), topics())
    for (const stream of ['click', 'log', 'notification'] as const) {
      const bytes = codec.encode(stream, SAMPLES[stream] as never)
      expect(bytes[0]).toBe(0)
      expect(bytes.readUInt32BE(1)).toBe(codec.schemaId(stream))
      const decoded = codec.decode(stream, bytes)
      expect(decoded.ok && { ...decoded.value }).toEqual(SAMPLES[stream])
    }
  })

  it('rolling upgrade: a v1 and a v2 process read each other\'s messages through the registry', async () => {
    const shared = topics()
    // Two processes: two adapters, so each fetches the other's writer schema over HTTP.
    const v1Codec = await AvroCodec.create(new ConfluentSchemaRegistry(url), shared, { click: v1.schema })
    const v2Codec = await AvroCodec.create(new ConfluentSchemaRegistry(url), shared)
    expect(v2Codec.schemaId('click')).not.toBe(v1Codec.schemaId('click'))

    const fromV2 = v2Codec.encode('click', SAMPLES.click as never)
    expect(v1Codec.decode('click', fromV2)).toMatchObject({ ok: false, unknownSchema: true })
    await v1Codec.loadSchema(fromV2.readUInt32BE(1))
    const readByV1 = v1Codec.decode('click', fromV2)
    expect(readByV1.ok && readByV1.value.path).toBe('/pricing')
    expect(readByV1.ok && 'visitor_hash' in readByV1.value).toBe(false)

    const { visitor_hash: _dropped, ...v1Event } = SAMPLES.click
    const fromV1 = v1Codec.encode('click', v1Event as never)
    await v2Codec.loadSchema(fromV1.readUInt32BE(1))
    const readByV2 = v2Codec.decode('click', fromV1)
    expect(readByV2.ok && readByV2.value.path).toBe('/pricing')
    expect(readByV2.ok && readByV2.value.visitor_hash).toBeNull()

    // An old v1 producer restarting mid-rollout registers v1 again: same id, no new version.
    const restarted = await AvroCodec.create(new ConfluentSchemaRegistry(url), shared, { click: v1.schema })
    expect(restarted.schemaId('click')).toBe(v1Codec.schemaId('click'))
    expect((await rest('GET', `/subjects/${shared.click}-value/versions`)).json).toEqual([1, 2])
  })
})

describe('ConfluentSchemaRegistry without a registry', () => {
  it('reports an unreachable registry as a retriable error naming it', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number }
        server.close(() => resolve(port))
      })
    })
    const registry = new ConfluentSchemaRegistry(`http://127.0.0.1:${port}/`, { timeoutMs: 2_000 })
    const failure = await registry.schemaById(1).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(SchemaRegistryError)
    expect((failure as SchemaRegistryError).retriable).toBe(true)
    expect((failure as Error).message).toContain(`schema registry at http://127.0.0.1:${port} unreachable`)
  })
})
