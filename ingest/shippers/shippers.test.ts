import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import snappy from 'snappyjs'
import { beforeEach, describe, expect, it } from 'vitest'
import type { AvroCodec } from '../../core/codec/avro-codec.ts'
import type { LogEvent } from '../../schemas/types.generated.ts'
import type { RecordingProducer } from '../../test/support/recording-producer.ts'
import { INGEST_TOPICS, useIngestApp } from '../../test/support/ingest-app.ts'
import { parseLabels } from './loki/mapping.ts'
import { shipperTypes } from './proto.ts'

const NOW = Date.parse('2026-11-22T12:00:00.000Z')
const TOPICS = INGEST_TOPICS
const WRITE_KEY = 'shop-write-key'
const config = { ingest: { maxEventBytes: 2_048, maxRequestBytes: 65_536, maxFutureMs: 86_400_000, produceTimeoutMs: 200 }, retentionDays: 30 }
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
const basic = (user: string, password = '') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

let app: FastifyInstance
let producer: RecordingProducer
let codec: AvroCodec
const harness = useIngestApp(config, { now: NOW, writeKey: WRITE_KEY, name: 'shippers' })
beforeEach(() => ({ app, producer, codec } = harness))

const logs = (): LogEvent[] => producer.sent.map((sent) => {
  const decoded = codec.decode('log', sent.record.value)
  if (!decoded.ok) throw new Error(decoded.reason)
  return decoded.value
})

/** What the Collector's otlphttp exporter sends: protobuf, gzip by default. */
function otlpProtobuf(json: unknown): Buffer {
  const { otlpLogsRequest } = shipperTypes()
  return gzipSync(otlpLogsRequest.encode(otlpLogsRequest.fromObject(toProtobufJs(json) as Record<string, unknown>)).finish())
}
/** OTLP/JSON spells ids in hex; protobufjs' fromObject reads bytes from base64. */
function toProtobufJs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toProtobufJs)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, (key === 'traceId' || key === 'spanId') && typeof item === 'string' ? Buffer.from(item, 'hex').toString('base64') : toProtobufJs(item)]))
}

/** What Promtail and Alloy send: a PushRequest, snappy block-compressed, no Content-Encoding. */
function lokiProtobuf(json: { streams: Array<{ stream: Record<string, string>; values: Array<[string, string, Record<string, string>?]> }> }): Buffer {
  const { lokiPushRequest } = shipperTypes()
  const message = lokiPushRequest.fromObject({
    streams: json.streams.map((stream) => ({
      labels: `{${Object.entries(stream.stream).map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(', ')}}`,
      entries: stream.values.map(([nanos, line, metadata]) => ({
        timestamp: { seconds: String(BigInt(nanos) / 1_000_000_000n), nanos: Number(BigInt(nanos) % 1_000_000_000n) },
        line,
        structuredMetadata: Object.entries(metadata ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })),
  })
  return Buffer.from(snappy.compress(lokiPushRequest.encode(message).finish()))
}

describe('OTLP/HTTP logs', () => {
  const json = JSON.parse(fixture('otlp-logs.json'))

  it('maps severity, resource, scope, trace ids and attributes from protobuf, and answers in protobuf', async () => {
    const response = await app.inject({ method: 'POST', url: '/otlp/v1/logs', payload: otlpProtobuf(json), headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', authorization: `Bearer ${WRITE_KEY}` } })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('application/x-protobuf')
    expect(shipperTypes().otlpLogsResponse.decode(response.rawPayload).toJSON()).toEqual({})
    const [example, error, warning] = logs()
    expect(example).toMatchObject({
      service: 'my.service', level: 'info', message: 'Example log record', logger: 'my.library', ts: Date.parse('2026-11-22T11:59:00.300Z'),
      trace_id: '5b8efff798038103d269b633813fc60c', span_id: 'eee19b7ec3c1b174',
      attributes: { 'my.scope.attribute': 'some scope attribute', 'string.attribute': 'some string', 'boolean.attribute': 'true', 'int.attribute': '10', 'double.attribute': '637.704', 'array.attribute': '["many","values"]', 'map.attribute.some.map.key': 'some value', severity_text: 'Information' },
    })
    expect(error).toMatchObject({ service: 'checkout', host: 'web-1', level: 'error', message: 'payment 41 failed: card declined', logger: null, trace_id: '0af7651916cd43dd8448eb211c80319c', attributes: { 'service.namespace': 'shop', 'k8s.pod.name': 'checkout-7d9f8-x2x', 'log.file.name': 'checkout.log', severity_text: 'ERROR' } })
    // No timeUnixNano: the observed time; a structured body is kept as JSON text.
    expect(warning).toMatchObject({ level: 'warn', ts: Date.parse('2026-11-22T11:59:02.000Z'), message: '{"event":"retry","attempt":2}' })
  })

  it('accepts OTLP/JSON with the same result, also on /v1/logs', async () => {
    const viaOtlp = await app.inject({ method: 'POST', url: '/otlp/v1/logs', payload: json, headers: { authorization: basic(WRITE_KEY) } })
    expect(viaOtlp.statusCode).toBe(200)
    expect(viaOtlp.json()).toEqual({})
    const viaLogs = await app.inject({ method: 'POST', url: '/v1/logs', payload: otlpProtobuf(json), headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', authorization: basic(WRITE_KEY) } })
    expect(viaLogs.statusCode).toBe(200)
    const events = logs()
    expect(events).toHaveLength(6)
    // log.record.uid makes the id deterministic; records without it get a fresh id each time.
    expect(events[1]!.event_id).toBe(events[4]!.event_id)
    expect(events[0]!.event_id).not.toBe(events[3]!.event_id)
  })

  it('reports records it cannot store in partial_success and keeps the rest; 400 when none is valid', async () => {
    const bad = structuredClone(json)
    bad.resourceLogs[1].scopeLogs[0].logRecords[0].timeUnixNano = String(BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n)
    const response = await app.inject({ method: 'POST', url: '/otlp/v1/logs', payload: bad, headers: { authorization: `Bearer ${WRITE_KEY}` } })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ partialSuccess: { rejectedLogRecords: '1', errorMessage: expect.stringContaining('/resourceLogs/1/scopeLogs/0/logRecords/0/timestamp: event time 2026-01-01T00:00:00.000Z is older than the retention') } })
    expect(logs()).toHaveLength(2)
    const none = await app.inject({ method: 'POST', url: '/otlp/v1/logs', payload: { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: 'soon' }] }] }] }, headers: { authorization: `Bearer ${WRITE_KEY}` } })
    expect(none.statusCode).toBe(400)
    expect(none.json().errors[0]).toMatchObject({ field: '/resourceLogs/0/scopeLogs/0/logRecords/0', reason: expect.stringContaining('nanoseconds') })
  })

  it('answers 400, not 500, for bytes that are not an OTLP request, and 401 without a key', async () => {
    const garbage = await app.inject({ method: 'POST', url: '/otlp/v1/logs', payload: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${WRITE_KEY}` } })
    expect(garbage.statusCode).toBe(400)
    expect(garbage.json().code).toBe('INGEST_MALFORMED_BODY')
    const anonymous = await app.inject({ method: 'POST', url: '/otlp/v1/logs', payload: json })
    expect(anonymous.statusCode).toBe(401)
  })
})

describe('Loki push', () => {
  const json = JSON.parse(fixture('loki-push.json'))

  it('decodes snappy protobuf as Promtail and Alloy send it, mapping labels and structured metadata', async () => {
    const response = await app.inject({ method: 'POST', url: '/loki/api/v1/push', payload: lokiProtobuf(json), headers: { 'content-type': 'application/x-protobuf', authorization: basic('tenant-1', WRITE_KEY) } })
    expect(response.statusCode).toBe(204)
    const [sshd, cron, checkout] = logs()
    expect(sshd).toMatchObject({ service: 'varlogs', host: 'web-2', level: 'info', ts: Date.parse('2026-11-22T11:59:00.300Z'), message: expect.stringContaining('Accepted publickey'), attributes: { filename: '/var/log/syslog' } })
    expect(cron!.ts).toBe(Date.parse('2026-11-22T11:59:00.400Z'))
    expect(checkout).toMatchObject({ service: 'checkout', level: 'error', trace_id: '0af7651916cd43dd8448eb211c80319c', attributes: { namespace: 'shop', user: 'u-7' } })
  })

  it('accepts the JSON push (gzip too) with the same ids, so a retry in either encoding deduplicates', async () => {
    await app.inject({ method: 'POST', url: '/loki/api/v1/push', payload: lokiProtobuf(json), headers: { 'content-type': 'application/x-protobuf', 'x-scope-orgid': WRITE_KEY } })
    const response = await app.inject({ method: 'POST', url: '/loki/api/v1/push', payload: gzipSync(JSON.stringify(json)), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-scope-orgid': WRITE_KEY } })
    expect(response.statusCode).toBe(204)
    const ids = logs().map((event) => event.event_id)
    expect(ids.slice(0, 3)).toEqual(ids.slice(3))
    expect(new Set(ids.slice(0, 3)).size).toBe(3)
  })

  it('keeps valid entries and reports bad ones (202); 400 for an undecodable body', async () => {
    const partial = await app.inject({ method: 'POST', url: '/loki/api/v1/push', payload: { streams: [{ stream: { app: 'a' }, values: [['1795348740300000000', 'ok'], ['yesterday', 'bad'], ['1795348740300000000', 'x'.repeat(3_000)]] }] }, headers: { 'x-scope-orgid': WRITE_KEY } })
    expect(partial.statusCode).toBe(202)
    expect(partial.json()).toEqual({ accepted: 1, rejected: [
      { event: 1, field: '/streams/0/values/1', reason: expect.stringContaining('nanoseconds') },
      { event: 2, field: '/streams/0/values/2', reason: expect.stringContaining('more than the limit of 2048') },
    ] })
    const garbage = await app.inject({ method: 'POST', url: '/loki/api/v1/push', payload: Buffer.from('not snappy at all'), headers: { 'content-type': 'application/x-protobuf', 'x-scope-orgid': WRITE_KEY } })
    expect(garbage.statusCode).toBe(400)
  })

  it('parses Prometheus label text with escapes', () => {
    expect(parseLabels('{job="varlogs", filename="/var/log/a \\"b\\".log",host="web-2"}')).toEqual({ job: 'varlogs', filename: '/var/log/a "b".log', host: 'web-2' })
    expect(parseLabels('{}')).toEqual({})
    expect(() => parseLabels('job=varlogs')).toThrow(/labels must look like/)
  })
})

describe('Elasticsearch _bulk', () => {
  const bulk = (body: string, url = '/es/_bulk', headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/x-ndjson', authorization: basic('elastic', WRITE_KEY), ...headers } })

  it('answers the handshake calls as Elasticsearch 8 with the product header', async () => {
    for (const url of ['/es', '/es/']) {
      const response = await app.inject({ method: 'GET', url })
      expect(response.statusCode).toBe(200)
      expect(response.headers['x-elastic-product']).toBe('Elasticsearch')
      expect(response.json().version.number).toMatch(/^8\./)
    }
    expect((await app.inject({ method: 'HEAD', url: '/es' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/es/_license' })).json().license.status).toBe('active')
    expect((await app.inject({ method: 'GET', url: '/es/_cluster/health' })).json().status).toBe('green')
    expect((await app.inject({ method: 'PUT', url: '/es/_index_template/filebeat', payload: '{}', headers: { 'content-type': 'application/json' } })).json()).toEqual({ acknowledged: true })
  })

  it('maps Filebeat ECS documents (data stream create actions)', async () => {
    const response = await bulk(fixture('es-bulk-filebeat.ndjson'), '/es/_bulk', { 'content-type': 'application/vnd.elasticsearch+x-ndjson; compatible-with=8' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ errors: false, items: [{ create: { _index: 'logs-checkout-default', status: 201, result: 'created' } }, { create: { status: 201 } }] })
    const [failed, ok] = logs()
    expect(failed).toMatchObject({ service: 'checkout', host: 'web-1', level: 'error', message: 'payment 41 failed: card declined', trace_id: '0af7651916cd43dd8448eb211c80319c', ts: Date.parse('2026-11-22T11:59:00.300Z'), attributes: { 'log.file.path': '/var/log/checkout/app.log', 'agent.type': 'filebeat', 'host.os.family': 'debian', 'elasticsearch.index': 'logs-checkout-default' } })
    expect(ok).toMatchObject({ level: 'info', message: 'payment 42 ok' })
  })

  it('maps Fluent Bit records (log field, Kubernetes metadata) and deduplicates a resent batch by _id', async () => {
    await bulk(fixture('es-bulk-fluentbit.ndjson'), '/es/_bulk', { 'content-type': 'application/json', authorization: `ApiKey ${Buffer.from(`key-id:${WRITE_KEY}`).toString('base64')}` })
    await bulk(fixture('es-bulk-fluentbit.ndjson'), '/es/_bulk', { 'content-type': 'application/json', authorization: `ApiKey ${Buffer.from(`key-id:${WRITE_KEY}`).toString('base64')}` })
    const events = logs()
    expect(events[0]).toMatchObject({ service: 'api', level: 'info', message: 'GET /health 200 1ms', attributes: { stream: 'stdout', 'kubernetes.pod_name': 'api-5c7b9-abcde' } })
    expect(events.slice(0, 2).map((event) => event.event_id)).toEqual(events.slice(2).map((event) => event.event_id))
  })

  it('answers Logstash per item: stored, delete refused, broken document refused; index from the URL', async () => {
    const response = await bulk(fixture('es-bulk-logstash.ndjson'), '/es/logstash-2026.11.22/_bulk')
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body.errors).toBe(true)
    expect(body.items.map((item: Record<string, { status: number }>) => Object.entries(item).map(([action, result]) => `${action}:${result.status}`)[0])).toEqual(['index:201', 'delete:400', 'index:400', 'index:201'])
    expect(body.items[2].index.error).toMatchObject({ type: 'document_parsing_exception', reason: expect.stringContaining('not valid JSON') })
    const [login, disk] = logs()
    expect(login).toMatchObject({ service: 'logstash', host: 'app-2', level: 'info', logger: 'com.shop.Auth', attributes: { '@version': '1' } })
    expect(disk).toMatchObject({ level: 'warn', logger: 'com.shop.Disk' })
    const noIndex = await bulk('{"index":{}}\n{"message":"m"}\n', '/es/applogs-2026-11-22/_bulk')
    expect(logs()[2]).toMatchObject({ service: 'applogs', message: 'm' })
    expect(noIndex.json().errors).toBe(false)
  })

  it('fails the request on a broken action line (400, with the line) and without a key (401)', async () => {
    const broken = await bulk('{"index":{}}\n{"message":"a"}\n{"index":\n')
    expect(broken.statusCode).toBe(400)
    expect(broken.json()).toMatchObject({ code: 'INGEST_MALFORMED_BODY', errors: [{ event: 3 }] })
    expect((await bulk('{"index":{}}\n{"message":"a"}\n', '/es/x/_bulk', { authorization: basic('elastic', 'wrong-password') })).statusCode).toBe(401)
    expect(producer.sent).toHaveLength(0)
  })
})

describe('POST /v1/logs from shippers', () => {
  it('reads NDJSON labelled application/json (Fluent Bit json_lines) with epoch-second dates, reporting bad lines by number', async () => {
    const body = [
      JSON.stringify({ date: 1795348740.3, log: 'GET / 200', service: 'edge' }),
      '{"date": 1795348740.4, "log": ',
      JSON.stringify({ date: 1795348740.5, log: 'x'.repeat(3_000), service: 'edge' }),
      JSON.stringify({ date: 1795348740.6, log: 'GET /cart 200', service: 'edge' }),
    ].join('\n')
    const response = await app.inject({ method: 'POST', url: '/v1/logs', payload: body, headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` } })
    expect(response.statusCode).toBe(202)
    expect(response.json()).toEqual({ accepted: 2, rejected: [
      { event: 2, field: '', reason: expect.stringContaining('not valid JSON') },
      { event: 3, field: '', reason: expect.stringContaining('more than the limit of 2048') },
    ] })
    expect(logs().map((event) => [event.ts, event.message])).toEqual([[Date.parse('2026-11-22T11:59:00.300Z'), 'GET / 200'], [Date.parse('2026-11-22T11:59:00.600Z'), 'GET /cart 200']])
  })

  it('accepts the key as X-Eddy-Write-Key, still refuses an unknown one', async () => {
    const line = JSON.stringify({ service: 's', message: 'm' })
    expect((await app.inject({ method: 'POST', url: '/v1/logs', payload: line, headers: { 'content-type': 'application/x-ndjson', 'x-eddy-write-key': WRITE_KEY } })).statusCode).toBe(202)
    expect((await app.inject({ method: 'POST', url: '/v1/logs', payload: line, headers: { 'content-type': 'application/x-ndjson', 'x-eddy-write-key': 'nope-nope' } })).statusCode).toBe(401)
  })
})

it('answers odd bodies on every shipper path with 2xx or 4xx, never 500', async () => {
  const bodies: Array<[string, string | Buffer]> = [
    ['application/json', 'null'], ['application/json', '[]'], ['application/json', '{"streams":[null,{"values":[[1,2,3],"x"]}]}'],
    ['application/json', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[null,{"body":{"kvlistValue":{}},"timeUnixNano":1e30}]}]}]}'],
    ['application/json', '{"resourceLogs":"x"}'], ['application/x-ndjson', '\n\n'], ['application/x-protobuf', Buffer.alloc(0)],
    ['application/x-protobuf', Buffer.from([0xff, 0xff, 0xff])], ['text/plain', '{"index":{"_index":1}}\n[]\n{"create":{"_id":{}}}\n{"message":{}}'],
  ]
  for (const url of ['/v1/logs', '/otlp/v1/logs', '/loki/api/v1/push', '/es/_bulk', '/es/x/_bulk']) {
    for (const [type, payload] of bodies) {
      const response = await app.inject({ method: 'POST', url, payload, headers: { 'content-type': type, authorization: `Bearer ${WRITE_KEY}` } })
      expect(response.statusCode, `${url} ${type} ${String(payload)}`).toBeLessThan(500)
    }
  }
})
