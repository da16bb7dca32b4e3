import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import type { FastifyInstance } from 'fastify'
import { beforeEach, describe, expect, it } from 'vitest'
import { latestSchemas, type Stream } from '../schemas/avro/catalog.ts'
import type { RecordingProducer } from '../test/support/recording-producer.ts'
import { useIngestApp } from '../test/support/ingest-app.ts'
import { INGEST_PROBLEMS } from './errors.ts'
import { HTTP_PROBLEMS } from '../core/http/client-errors.ts'
import { LEVELS } from './normalise/log.ts'
import { CHANNELS, STATUSES } from './normalise/notification.ts'
import { INGEST_OPENAPI_PATH, type JsonSchema, type OpenApiDocument, type Operation, type Parameter, type Response } from './openapi.ts'
import type { SnippetSettings } from './snippet/plugin.ts'

const NOW = Date.parse('2026-11-22T12:00:00.000Z')
const WRITE_KEY = 'shop-write-key'
const basic = (user: string, password = '') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const config = { ingest: { maxEventBytes: 32_768, maxRequestBytes: 512_000, maxFutureMs: 86_400_000, produceTimeoutMs: 200 }, retentionDays: 30 }
const firstParty: typeof config.ingest & SnippetSettings = { ...config.ingest, scriptPath: '/js/site.js', collectPath: '/e' }

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const
const DOCUMENT_ID = 'https://eddy.dev/ingest/openapi.json'

interface Located {
  readonly path: string
  readonly method: string
  readonly operation: Operation
  /** JSON pointer of the operation in the document. */
  readonly pointer: string
}

const escape = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1')
const pointerOf = (...segments: string[]) => segments.map((segment) => `/${escape(segment)}`).join('')

function resolve(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined
  let value: unknown = document
  for (const part of ref.slice(2).split('/')) {
    const key = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~')
    if (value === null || typeof value !== 'object' || !(key in value)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

/** Every `$ref` in the document with where it sits. */
function references(value: unknown, at = ''): Array<{ at: string; ref: string }> {
  if (value === null || typeof value !== 'object') return []
  const found: Array<{ at: string; ref: string }> = []
  for (const [key, item] of Object.entries(value)) {
    if (key === '$ref' && typeof item === 'string') found.push({ at, ref: item })
    else found.push(...references(item, `${at}/${escape(key)}`))
  }
  return found
}

function operationsOf(document: OpenApiDocument): Located[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => (item as Record<string, unknown>)[method] !== undefined).map((method) => ({
      path,
      method,
      operation: (item as Record<string, Operation>)[method]!,
      pointer: pointerOf('paths', path, method),
    })))
}

/**
 * The routes fastify registered, from printRoutes' tree: each line is a segment under the line
 * above it one level up (`│   ` or four spaces per level), with its methods in parentheses.
 */
function registeredRoutes(app: FastifyInstance): Array<{ method: string; path: string }> {
  const routes: Array<{ method: string; path: string }> = []
  const prefixes: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1]!.length / 4
    prefixes.length = depth
    const path = `${prefixes[depth - 1] ?? ''}${match[2]}`
    prefixes.push(path)
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, path })
  }
  return routes
}

/** The document as one JSON Schema resource, so that a pointer anywhere in it compiles with its $refs. */
function schemaValidator(document: OpenApiDocument): (pointer: string) => ValidateFunction {
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictTuples: false, strictRequired: false, validateFormats: false, allErrors: true, validateSchema: false })
  // The root is compiled when a $ref leads to it: its OpenAPI fields are known, inert keywords.
  ajv.addVocabulary(Object.keys(document))
  ajv.addSchema({ ...document, $id: DOCUMENT_ID })
  return (pointer) => {
    const validate = ajv.getSchema(`${DOCUMENT_ID}#${pointer.split('/').map(encodeURIComponent).join('/')}`)
    if (!validate) throw new Error(`no schema at ${pointer}`)
    return validate
  }
}

/** The response object at `responses/<status>`, following a component $ref, and its pointer. */
function responseAt(document: OpenApiDocument, located: Located, status: string): { response: Response; pointer: string } | undefined {
  const entry = located.operation.responses[status]
  if (!entry) return undefined
  if ('$ref' in entry) return { response: resolve(document, entry.$ref) as Response, pointer: entry.$ref.slice(1) }
  return { response: entry, pointer: `${located.pointer}${pointerOf('responses', status)}` }
}

function urlOf(located: Located): string {
  return located.path.replace(/\{(\w+)\}/g, (_all, name: string) => {
    const parameter = located.operation.parameters?.find((candidate: Parameter) => candidate.in === 'path' && candidate.name === name)
    if (parameter?.example === undefined) throw new Error(`${located.method} ${located.path}: path parameter ${name} has no example`)
    return encodeURIComponent(String(parameter.example))
  })
}

/** Credentials as a security scheme carries them. */
function credentials(document: OpenApiDocument, scheme: string, key: string): { headers: Record<string, string>; query: string } {
  const definition = document.components.securitySchemes[scheme]!
  if (definition.type === 'http' && definition.scheme === 'basic') return { headers: { authorization: basic(key) }, query: '' }
  if (definition.type === 'http' && definition.scheme === 'bearer') return { headers: { authorization: `Bearer ${key}` }, query: '' }
  if (definition.in === 'query') return { headers: {}, query: `?${definition.name}=${encodeURIComponent(key)}` }
  if (definition.name === 'Authorization') return { headers: { authorization: `ApiKey ${Buffer.from(`id:${key}`).toString('base64')}` }, query: '' }
  return { headers: { [definition.name!.toLowerCase()]: key }, query: '' }
}

const fuzzable = (located: Located) => located.operation['x-eddy-fuzz'] !== false

/** The first example body of an operation and its content type, if it has one. */
function firstExample(located: Located): { type: string; example: unknown } | undefined {
  const found = Object.entries(located.operation.requestBody?.content ?? {}).find(([, media]) => media.example !== undefined)
  return found && { type: found[0], example: found[1].example }
}
const payloadOf = (example: unknown) => (typeof example === 'string' ? example : JSON.stringify(example))

function avroEnum(stream: Stream, name: string): string[] {
  const fields = (latestSchemas()[stream].schema as { fields: Array<{ type: unknown }> }).fields
  for (const { type } of fields) {
    if (typeof type === 'object' && type !== null && (type as { name?: string }).name === name) return (type as { symbols: string[] }).symbols
  }
  throw new Error(`no enum ${name} in the ${stream} schema`)
}

describe.each([
  { name: 'default paths', ingest: config.ingest },
  { name: 'first-party snippet paths', ingest: firstParty },
])('GET /ingest/openapi.json ($name)', ({ name, ingest }) => {
  let app: FastifyInstance
  let producer: RecordingProducer
  let document: OpenApiDocument
  const harness = useIngestApp({ ...config, ingest }, { now: NOW, writeKey: WRITE_KEY, name: `openapi-${name.replaceAll(' ', '-')}` })
  beforeEach(async () => {
    ;({ app, producer } = harness)
    const response = await app.inject({ method: 'GET', url: INGEST_OPENAPI_PATH })
    expect(response.statusCode, 'served without a write key').toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    document = response.json()
  })

  it('is structurally OpenAPI 3.1: operations with responses, resolvable $refs, known security schemes', () => {
    expect(document.openapi).toBe('3.1.0')
    expect(document.info.title).toEqual(expect.any(String))
    expect(document.info.version).toEqual(expect.any(String))
    const operations = operationsOf(document)
    expect(operations.length).toBeGreaterThan(30)

    const ids = operations.map(({ operation }) => operation.operationId)
    expect(new Set(ids).size, 'operationIds are unique').toBe(ids.length)
    for (const { path, method, operation } of operations) {
      const where = `${method.toUpperCase()} ${path}`
      expect(path, where).toMatch(/^\//)
      expect(operation.summary, where).toEqual(expect.any(String))
      const statuses = Object.keys(operation.responses)
      expect(statuses.length, `${where} has responses`).toBeGreaterThan(0)
      expect(statuses.some((status) => /^[23]/.test(status)), `${where} has a success`).toBe(true)
      for (const status of statuses) expect(status, where).toMatch(/^[1-5][0-9]{2}$/)
      // Path templates and path parameters match one to one.
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort()
      const declared = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path')
      expect(declared.map((parameter) => parameter.name).sort(), where).toEqual(templated)
      for (const parameter of declared) expect(parameter.required, `${where} {${parameter.name}}`).toBe(true)
      // Security requirements name existing schemes.
      expect(Array.isArray(operation.security), `${where} states its security`).toBe(true)
      for (const requirement of operation.security) {
        for (const scheme of Object.keys(requirement)) expect(document.components.securitySchemes, `${where} → ${scheme}`).toHaveProperty([scheme])
      }
    }

    for (const { at, ref } of references(document)) expect(resolve(document, ref), `${ref} at ${at}`).toBeDefined()

    for (const [name, scheme] of Object.entries(document.components.securitySchemes)) {
      expect(['http', 'apiKey'], name).toContain(scheme.type)
      if (scheme.type === 'http') expect(['basic', 'bearer'], name).toContain(scheme.scheme)
      else expect(['header', 'query'], name).toContain(scheme.in)
    }
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['writeKeyApiKey', 'writeKeyBasic', 'writeKeyBearer', 'writeKeyHeader', 'writeKeyQuery', 'writeKeyTenant'])

    // Every schema compiles as JSON Schema 2020-12 (strict: a misspelt keyword fails).
    const validator = schemaValidator(document)
    for (const schemaName of Object.keys(document.components.schemas)) expect(() => validator(pointerOf('components', 'schemas', schemaName)), schemaName).not.toThrow()
  })

  it('answers every error as a problem from the catalogue, with the status the catalogue gives its code', () => {
    const problemCodes = new Map([...Object.values(INGEST_PROBLEMS), ...Object.values(HTTP_PROBLEMS)].map((definition) => [definition.code, definition.status]))
    for (const located of operationsOf(document)) {
      for (const status of Object.keys(located.operation.responses).filter((code) => Number(code) >= 400)) {
        const { response } = responseAt(document, located, status)!
        const where = `${located.method.toUpperCase()} ${located.path} ${status}`
        expect(Object.keys(response.content ?? {}), where).toEqual(['application/problem+json'])
        const narrowed = (response.content!['application/problem+json']!.schema as { allOf: [JsonSchema, { properties: { status: { const: number }; code: { enum: string[] } } }] }).allOf
        expect(narrowed[0], where).toEqual({ $ref: '#/components/schemas/Problem' })
        expect(narrowed[1].properties.status.const, where).toBe(Number(status))
        for (const code of narrowed[1].properties.code.enum) expect(problemCodes.get(code), `${where} ${code}`).toBe(Number(status))
      }
    }
  })

  it('documents every route the ingest app registers, and nothing else', () => {
    const routes = registeredRoutes(app).filter(({ method, path }) => method !== 'HEAD' && path !== INGEST_OPENAPI_PATH)
    expect(routes.filter(({ method }) => method === 'POST').length, 'parsed the POST routes from printRoutes').toBeGreaterThan(15)
    const documented = new Set(operationsOf(document).map(({ method, path }) => `${method.toUpperCase()} ${path}`))
    for (const { method, path } of routes) expect(documented, 'a registered route has no operation').toContain(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`)
    for (const { method, path } of operationsOf(document)) {
      expect(app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }), `${method.toUpperCase()} ${path} is a route`).toBe(true)
    }
    // The collect path is the snippet's own route only when it is not /v1/batch.
    expect(Object.keys(document.paths)).toContain((ingest as SnippetSettings).collectPath ?? '/v1/batch')
    expect(Object.keys(document.paths)).toContain((ingest as SnippetSettings).scriptPath ?? '/eddy.js')
  })

  it('takes its enums from the code, in step with the Avro schemas', () => {
    const schemas = document.components.schemas as Record<string, { properties: Record<string, { enum?: string[] }>; anyOf: Array<{ enum?: string[] }> }>
    expect(schemas.Notification!.properties.channel!.enum).toEqual([...CHANNELS])
    expect(schemas.Notification!.properties.status!.enum).toEqual([...STATUSES])
    expect([...CHANNELS]).toEqual(avroEnum('notification', 'Channel'))
    expect([...STATUSES]).toEqual(avroEnum('notification', 'NotificationStatus'))
    expect(schemas.LogLevel!.anyOf[0]!.enum).toEqual([...Object.keys(LEVELS), ''])
    expect(new Set(Object.values(LEVELS)), 'every stored level has a word').toEqual(new Set(avroEnum('log', 'LogLevel')))
  })

  it('accepts one request per operation built from its examples (valid against their own schemas) with a documented success', async () => {
    const validator = schemaValidator(document)
    let sent = 0
    for (const located of operationsOf(document).filter(fuzzable)) {
      const where = `${located.method.toUpperCase()} ${located.path}`
      const bodies = Object.entries(located.operation.requestBody?.content ?? {}).filter(([, media]) => media.example !== undefined)
      if (located.operation.requestBody?.required) expect(bodies.length, `${where} has an example body`).toBeGreaterThan(0)
      for (const [type, media] of bodies.length > 0 ? bodies : [[undefined, undefined] as const]) {
        const label = `${where} ${type ?? ''}`
        if (type && media) {
          const pointer = `${located.pointer}${pointerOf('requestBody', 'content', type, 'schema')}`
          const validate = validator(pointer)
          expect(validate(media.example), `${label} example: ${JSON.stringify(validate.errors)}`).toBe(true)
          if ((media.schema as { contentSchema?: unknown }).contentSchema) {
            const content = validator(`${pointer}/contentSchema`)
            expect(content(JSON.parse(media.example as string)), `${label} example content: ${JSON.stringify(content.errors)}`).toBe(true)
          }
        }
        const before = producer.sent.length
        const response = await app.inject({
          method: located.method.toUpperCase() as 'POST',
          url: urlOf(located),
          headers: { ...(located.operation.security.length > 0 ? { authorization: basic(WRITE_KEY) } : {}), ...(type ? { 'content-type': type } : {}) },
          ...(media ? { payload: payloadOf(media.example) } : {}),
        })
        const status = String(response.statusCode)
        expect(status, `${label}: ${response.body.slice(0, 500)}`).toMatch(/^2/)
        const documented = responseAt(document, located, status)
        expect(documented, `${label} answered an undocumented ${status}`).toBeDefined()
        const answered = String(response.headers['content-type'] ?? '').split(';')[0]!
        if (documented!.response.content) {
          expect(Object.keys(documented!.response.content), label).toContain(answered)
          if (answered === 'application/json') {
            const validate = validator(`${documented!.pointer}${pointerOf('content', answered, 'schema')}`)
            const body = response.json()
            expect(validate(body), `${label} answer ${response.body}: ${JSON.stringify(validate.errors)}`).toBe(true)
            // The examples are wholly valid: nothing refused, something stored.
            if ('accepted' in body) expect(body.accepted, label).toBeGreaterThan(0)
            if ('rejected' in body) expect(body.rejected, label).toEqual([])
            if ('errors' in body) expect(body.errors, label).toBe(false)
            expect(body, label).not.toHaveProperty('partialSuccess')
          }
        } else {
          expect(response.body, `${label} documents no body`).toBe('')
        }
        // Operations behind a write key store events; the rest (handshakes, the script) do not.
        if (located.operation.security.length > 0) expect(producer.sent.length, `${label} stored events`).toBeGreaterThan(before)
        sent += 1
      }
    }
    expect(sent).toBeGreaterThan(30)
  })

  it('accepts the write key in exactly the places each operation documents', async () => {
    const schemes = Object.keys(document.components.securitySchemes)
    let checked = 0
    for (const located of operationsOf(document).filter((candidate) => fuzzable(candidate) && candidate.operation.security.length > 0)) {
      const { type, example } = firstExample(located)!
      const listed = new Set(located.operation.security.flatMap((requirement) => Object.keys(requirement)))
      const send = (headers: Record<string, string>, query: string, body: unknown) => app.inject({
        method: located.method.toUpperCase() as 'POST',
        url: `${urlOf(located)}${query}`,
        headers: { 'content-type': type, ...headers },
        payload: payloadOf(body),
      })
      for (const scheme of schemes) {
        const { headers, query } = credentials(document, scheme, WRITE_KEY)
        const response = await send(headers, query, example)
        const where = `${located.method.toUpperCase()} ${located.path} with ${scheme}`
        if (listed.has(scheme)) expect(response.statusCode, `${where}: ${response.body.slice(0, 300)}`).toBeLessThan(300)
        else expect(response.statusCode, `${where} is not documented, so it must be refused`).toBe(401)
        checked += 1
      }
      // The empty requirement: the key as `writeKey` in a JSON object body.
      const inBody = located.operation.security.some((requirement) => Object.keys(requirement).length === 0)
      if (type === 'application/json' && example !== null && typeof example === 'object' && !Array.isArray(example)) {
        const response = await send({}, '', { ...example, writeKey: WRITE_KEY })
        expect(response.statusCode, `${located.method.toUpperCase()} ${located.path} with writeKey in the body`).toBe(inBody ? 202 : 401)
      }
      expect((await send({}, '', example)).statusCode, `${located.path} without a key`).toBe(401)
    }
    expect(checked).toBeGreaterThan(50)
  })
})
