import fc from 'fast-check'
import { beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_MAX_NESTING_DEPTH, deeperThan, pointerOf } from '../core/http/nesting.ts'
import { INGEST_TOPICS, useIngestApp } from '../test/support/ingest-app.ts'
import type { IngestHarness } from '../test/support/ingest-app.ts'
import { parseNdjson } from './body.ts'

const NOW = Date.parse('2026-11-22T12:00:00.000Z')
const WRITE_KEY = 'shop-write-key'
const LIMIT = DEFAULT_MAX_NESTING_DEPTH
const config = { ingest: { maxEventBytes: 32_768, maxRequestBytes: 512_000, maxFutureMs: 86_400_000, produceTimeoutMs: 200 }, retentionDays: 30 }
const basic = (user: string, password = '') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/**
 * A value `depth` objects and arrays deep, built in a loop (a recursive builder would overflow
 * first). `wide` siblings sit beside the deep branch at every tenth level.
 */
function nested(depth: number, shapes: readonly ('array' | 'object')[], wide: number): unknown {
  let value: unknown = 'leaf'
  for (let level = 0; level < depth; level++) {
    const shape = shapes[level % shapes.length]
    const siblings = level % 10 === 0 ? Array.from({ length: wide }, (_, index) => index) : []
    value = shape === 'array' ? [...siblings, value] : { ...Object.fromEntries(siblings.map((index) => [`w${index}`, index])), k: value }
  }
  return value
}

/**
 * The same value as JSON text, also built in a loop: JSON.stringify recurses and overflows on
 * the deep ones (in the test as in the code under test).
 */
function nestedText(depth: number, shapes: readonly ('array' | 'object')[], wide: number): string {
  const opens: string[] = []
  const closes: string[] = []
  for (let level = depth - 1; level >= 0; level--) {
    const siblings = level % 10 === 0 ? Array.from({ length: wide }, (_, index) => index) : []
    if (shapes[level % shapes.length] === 'array') {
      opens.push(`[${siblings.map((index) => `${index},`).join('')}`)
      closes.push(']')
    } else {
      opens.push(`{${siblings.map((index) => `"w${index}":${index},`).join('')}"k":`)
      closes.push('}')
    }
  }
  return `${opens.join('')}"leaf"${closes.reverse().join('')}`
}

const deepMark = '@@deep@@'
const DEEP = JSON.stringify(deepMark)
/** JSON text of `value` with the deep text where `deep` is the string DEEP stands for. */
const withDeep = (value: unknown, text: string) => JSON.stringify(value).replace(DEEP, () => text)

const structure = fc.record({
  // Mostly near the limit, where off-by-ones live, and sometimes the 40 KB bodies of the issue.
  depth: fc.oneof(fc.integer({ min: 0, max: LIMIT + 8 }), fc.integer({ min: 1_000, max: 20_000 })),
  shapes: fc.array(fc.constantFrom('array' as const, 'object' as const), { minLength: 1, maxLength: 4 }),
  wide: fc.integer({ min: 0, max: 4 }),
})

interface Endpoint {
  readonly name: string
  /** The request carrying `deep` at some field, with how many levels the body adds around it. */
  readonly request: (deep: string) => { url: string; payload: string; headers?: Record<string, string>; envelope: number }
  /** Where the deep value sits, when the endpoint refuses the whole body naming it. */
  readonly pointer?: string
  /** The event the refusal names. */
  readonly event?: number
}

const track = (properties: unknown) => ({ type: 'track', event: 'Clicked', anonymousId: 'anon-1', timestamp: '2026-11-22T11:59:00Z', properties })
const logLine = (attributes: unknown) => ({ service: 'web', message: 'hello', level: 'info', timestamp: '2026-11-22T11:59:00Z', attributes })
const notification = (attributes: unknown) => ({ notification_id: 'n-1', channel: 'email', status: 'sent', provider: 'sendgrid', timestamp: '2026-11-22T11:59:00Z', attributes })
const json = (value: unknown) => JSON.stringify(value)
const nanos = `${BigInt(NOW - 60_000) * 1_000_000n}`

const ENDPOINTS: readonly Endpoint[] = [
  { name: 'batch', request: (deep) => ({ url: '/v1/batch', payload: withDeep({ batch: [track({}), track({ deep: deepMark })] }, deep), envelope: 4 }), pointer: '/batch/1/properties/deep', event: 1 },
  { name: 'track', request: (deep) => ({ url: '/v1/track', payload: withDeep(track({ deep: deepMark }), deep), envelope: 2 }), pointer: '/properties/deep' },
  { name: 'page', request: (deep) => ({ url: '/v1/page', payload: withDeep({ anonymousId: 'anon-1', name: 'Home', properties: { deep: deepMark } }, deep), envelope: 2 }), pointer: '/properties/deep' },
  { name: 'screen', request: (deep) => ({ url: '/v1/screen', payload: withDeep({ anonymousId: 'anon-1', name: 'Home', properties: { deep: deepMark } }, deep), envelope: 2 }), pointer: '/properties/deep' },
  { name: 'identify', request: (deep) => ({ url: '/v1/identify', payload: withDeep({ userId: 'u-1', traits: { deep: deepMark } }, deep), envelope: 2 }), pointer: '/traits/deep' },
  { name: 'context', request: (deep) => ({ url: '/v1/track', payload: withDeep({ ...track({}), context: { deep: deepMark } }, deep), envelope: 2 }), pointer: '/context/deep' },
  { name: 'logs', request: (deep) => ({ url: '/v1/logs', payload: withDeep([logLine({}), logLine({ deep: deepMark })], deep), envelope: 3 }), pointer: '/1/attributes/deep', event: 1 },
  { name: 'logs object', request: (deep) => ({ url: '/v1/logs', payload: withDeep({ logs: [logLine({ deep: deepMark })] }, deep), envelope: 4 }), pointer: '/logs/0/attributes/deep', event: 0 },
  { name: 'logs ndjson', request: (deep) => ({ url: '/v1/logs', payload: `${json(logLine({}))}\n${withDeep(logLine({ deep: deepMark }), deep)}\n`, headers: { 'content-type': 'application/x-ndjson' }, envelope: 2 }) },
  { name: 'notifications', request: (deep) => ({ url: '/v1/notifications', payload: withDeep([notification({ deep: deepMark })], deep), envelope: 3 }), pointer: '/0/attributes/deep', event: 0 },
  { name: 'loki json', request: (deep) => ({ url: '/loki/api/v1/push', payload: withDeep({ streams: [{ stream: { service_name: 'web' }, values: [[nanos, 'hello', { deep: deepMark }]] }] }, deep), envelope: 6 }), pointer: '/streams/0/values/0/2/deep' },
  {
    name: 'otlp json',
    request: (deep) => ({ url: '/otlp/v1/logs', payload: withDeep({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: nanos, body: { stringValue: 'hi' }, attributes: [{ key: 'deep', value: deepMark }] }] }] }] }, deep), envelope: 9 }),
    pointer: '/resourceLogs/0/scopeLogs/0/logRecords/0/attributes/0/value',
  },
  { name: 'es bulk', request: (deep) => ({ url: '/es/logs/_bulk', payload: `{"index":{}}\n${withDeep({ message: 'hi', '@timestamp': '2026-11-22T11:59:00Z', deep: deepMark }, deep)}\n`, headers: { 'content-type': 'application/x-ndjson', authorization: basic('elastic', WRITE_KEY) }, envelope: 1 }) },
  { name: 'sendgrid webhook', request: (deep) => ({ url: '/webhooks/sendgrid', payload: withDeep([{ event: 'delivered', deep: deepMark }], deep), envelope: 2 }) },
  { name: 'ses webhook', request: (deep) => ({ url: '/webhooks/ses', payload: json({ Type: 'Notification', TopicArn: 'arn:aws:sns:eu-west-1:1:ses', Message: withDeep({ deep: deepMark }, deep) }), envelope: 1 }) },
]

/** A request each stream accepts, sent before and after every deep one: both must be stored. */
const GOOD = [
  { url: '/v1/track', payload: json(track({ plan: 'pro' })), topic: INGEST_TOPICS.click },
  { url: '/v1/logs', payload: json(logLine({ region: 'eu' })), topic: INGEST_TOPICS.log },
  { url: '/v1/notifications', payload: json([notification({})]), topic: INGEST_TOPICS.notification },
] as const

describe('deeply nested bodies', () => {
  let harness: IngestHarness
  const shared = useIngestApp(config, { now: NOW, writeKey: WRITE_KEY, name: 'nesting' })
  beforeEach(() => {
    harness = shared
  })
  const send = (request: { url: string; payload: string; headers?: Record<string, string> }) =>
    harness.app.inject({ method: 'POST', url: request.url, payload: request.payload, headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEY), ...request.headers } })

  it('never answer 5xx, keep serving, and store what was sent before and after, on every ingest endpoint', async () => {
    let round = 0
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), structure, async (endpoint, { depth, shapes, wide }) => {
        const good = GOOD[round++ % GOOD.length]!
        const before = harness.producer.sent.length
        expect((await send(good)).statusCode).toBe(202)

        const request = endpoint.request(nestedText(depth, shapes, wide))
        const response = await send(request)
        const total = depth + request.envelope
        expect(response.statusCode, `${endpoint.name} at ${depth}: ${response.body.slice(0, 300)}`).toBeLessThan(500)
        if (endpoint.pointer !== undefined && total > LIMIT) {
          expect(response.statusCode).toBe(400)
          expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
          const problem = response.json()
          expect(problem.code).toBe('INGEST_NESTED_TOO_DEEP')
          expect(problem.errors[0].field.startsWith(endpoint.pointer)).toBe(true)
          expect(problem.errors[0].event).toBe(endpoint.event)
        }
        if (endpoint.pointer !== undefined && total <= LIMIT && !endpoint.name.includes('webhook')) {
          expect(response.statusCode, `${endpoint.name} at ${depth}: ${response.body.slice(0, 300)}`).toBeLessThan(300)
        }
        if (endpoint.name === 'logs ndjson') {
          // The shallow line is stored either way; the deep one is refused on its own.
          expect(response.statusCode).toBe(202)
          expect(response.json().rejected.length > 0).toBe(total > LIMIT)
        }

        const middle = harness.producer.sent.length
        expect((await send(good)).statusCode).toBe(202)
        const after = harness.producer.sent.slice(before)
        expect(harness.producer.sent.length).toBeGreaterThan(middle)
        expect(after[0]!.topic).toBe(good.topic)
        expect(after.at(-1)!.topic).toBe(good.topic)
      }),
      { numRuns: 120, seed: 21, endOnFailure: true },
    )
  }, 60_000)

  it('names the 40 KB body of the issue: 20,000 nested arrays in a batch', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
    const response = await send({ url: '/v1/batch', payload: withDeep({ batch: [track({ deep: deepMark })] }, deep) })
    expect(response.statusCode).toBe(400)
    expect(response.json().errors).toEqual([{ event: 0, field: `/batch/0/properties/deep${'/0'.repeat(LIMIT - 4)}`, reason: expect.stringContaining(`${LIMIT} levels`) }])
    expect(harness.producer.sent).toHaveLength(0)
  })
})

/** Protobuf bytes of a length-delimited field, written by hand: protobufjs will not encode this deep. */
function field(number: number, bytes: Buffer): Buffer {
  const varint = (value: number): number[] => (value < 0x80 ? [value] : [(value & 0x7f) | 0x80, ...varint(value >>> 7)])
  return Buffer.concat([Buffer.from(varint((number << 3) | 2)), Buffer.from(varint(bytes.length)), bytes])
}

/** An ExportLogsServiceRequest whose one record's body is arrays of arrays, `depth` deep. */
function otlpProtobufNested(depth: number): Buffer {
  let value = field(1, Buffer.from('x')) // AnyValue.string_value
  for (let level = 0; level < depth; level++) value = field(5, field(1, value)) // AnyValue.array_value → ArrayValue.values
  const record = field(5, value) // LogRecord.body
  return field(1, field(2, field(2, record))) // request.resource_logs → ResourceLogs.scope_logs → ScopeLogs.log_records
}

describe('deeply nested OTLP protobuf', () => {
  const shared = useIngestApp(config, { now: NOW, writeKey: WRITE_KEY, name: 'nesting-otlp' })

  it('answers 400 INGEST_NESTED_TOO_DEEP past the limit, whether our check or the decoder\'s stops it, and 200 within it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1_000, max: 10_000 })), async (depth) => {
        const response = await shared.app.inject({ method: 'POST', url: '/otlp/v1/logs', payload: otlpProtobufNested(depth), headers: { 'content-type': 'application/x-protobuf', authorization: basic(WRITE_KEY) } })
        // Decoded, each level is an object holding an array holding an object: 3 of the 64 levels.
        const levels = 8 + 3 * depth
        expect(response.statusCode, `${depth}: ${response.body.slice(0, 200)}`).toBe(levels > LIMIT ? 400 : 200)
        if (levels > LIMIT) expect(response.json().code).toBe('INGEST_NESTED_TOO_DEEP')
      }),
      { numRuns: 40, seed: 21 },
    )
  })
})

describe('deeperThan', () => {
  it('finds the first value past the limit, without recursion, wherever it sits', () => {
    fc.assert(
      fc.property(structure, fc.integer({ min: 1, max: 100 }), ({ depth, shapes, wide }, limit) => {
        const value = nested(depth, shapes, wide)
        const path = deeperThan(value, limit)
        if (depth <= limit) {
          expect(path).toBeUndefined()
          return
        }
        expect(path).toHaveLength(limit)
        // Following the path leads to a container that is one level too many.
        let at: unknown = value
        for (const segment of path!) at = (at as Record<string | number, unknown>)[segment]
        expect(typeof at).toBe('object')
      }),
      { numRuns: 200, seed: 21 },
    )
  })

  it('counts the body as level 1 and primitives as no level', () => {
    expect(deeperThan('text', 1)).toBeUndefined()
    expect(deeperThan({ a: 1 }, 1)).toBeUndefined()
    expect(deeperThan({ a: [] }, 1)).toEqual(['a'])
    expect(deeperThan([1, { b: [2] }], 2)).toEqual([1, 'b'])
  })

  it('escapes pointers and cuts long ones', () => {
    expect(pointerOf(['a/b', 'c~d', 0])).toBe('/a~1b/c~0d/0')
    expect(pointerOf(Array.from({ length: 200 }, () => 'key')).length).toBe(301)
  })

  it('refuses an NDJSON line on its own', () => {
    const body = parseNdjson(`{"a":1}\n${'['.repeat(100)}${']'.repeat(100)}\n{"b":2}`, 32)
    expect(body.lines.map((line) => line.error === undefined)).toEqual([true, false, true])
  })
})
