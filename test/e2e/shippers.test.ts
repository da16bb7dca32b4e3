import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import snappy from 'snappyjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shipperTypes } from '../../ingest/shippers/proto.ts'
import { eventually, startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

const fixture = (name: string) => readFileSync(new URL(`../../ingest/shippers/fixtures/${name}`, import.meta.url), 'utf8')
const run = `e2e-${process.pid}-${Date.now()}`

let eddy: TestPipeline
beforeAll(async () => {
  eddy = await startTestPipeline()
})
afterAll(async () => {
  await eddy?.stop()
})

async function rows(where: string, params: Record<string, unknown>): Promise<Array<Record<string, unknown>>> {
  const clickhouse = await eddy.runtime.clickhouse()
  const result = await clickhouse.query({ query: `SELECT service, host, level, message, trace_id, event_id FROM eddy.events_log FINAL WHERE ${where} ORDER BY message`, query_params: params, format: 'JSONEachRow' })
  return result.json<Record<string, unknown>>()
}
const send = (path: string, body: string | Buffer, headers: Record<string, string>) => fetch(`${eddy.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers })

describe('shippers end to end: each format reaches ClickHouse, a resent batch is stored once', () => {
  it('Elasticsearch _bulk with _id (Fluent Bit Generate_ID)', async () => {
    const now = new Date().toISOString()
    const body = fixture('es-bulk-fluentbit.ndjson').replaceAll('"fluent-bit"', `"${run}-es"`).replace(/"@timestamp":"[^"]+"/g, `"@timestamp":"${now}"`)
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await send('/es/_bulk', body, { 'content-type': 'application/x-ndjson', authorization: `Basic ${Buffer.from(`elastic:${TEST_WRITE_KEY}`).toString('base64')}` })
      expect(response.status).toBe(200)
      expect((await response.json()).errors).toBe(false)
    }
    const stored = await eventually(() => rows("service = 'api' AND attributes['elasticsearch.index'] = {i:String}", { i: `${run}-es` }), (r) => r.length >= 2)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await rows("service = 'api' AND attributes['elasticsearch.index'] = {i:String}", { i: `${run}-es` })).toHaveLength(2)
    expect(stored.map((row) => [row.level, row.message])).toEqual([['info', 'GET /health 200 1ms'], ['info', 'WARN cache miss ratio 0.61']])
  })

  it('Loki push as snappy protobuf (Promtail, Alloy)', async () => {
    const { lokiPushRequest } = shipperTypes()
    const nanos = BigInt(Date.now()) * 1_000_000n
    const message = lokiPushRequest.fromObject({
      streams: [{
        labels: `{service_name="${run}-loki", level="warn", host="web-9"}`,
        entries: [0n, 1n, 2n].map((offset) => ({ timestamp: { seconds: String((nanos + offset) / 1_000_000_000n), nanos: Number((nanos + offset) % 1_000_000_000n) }, line: `disk 9${offset}% full`, structuredMetadata: [{ name: 'trace_id', value: '0af7651916cd43dd8448eb211c80319c' }] })),
      }],
    })
    const body = Buffer.from(snappy.compress(lokiPushRequest.encode(message).finish()))
    for (let attempt = 0; attempt < 2; attempt++) {
      expect((await send('/loki/api/v1/push', body, { 'content-type': 'application/x-protobuf', authorization: `Basic ${Buffer.from(`tenant:${TEST_WRITE_KEY}`).toString('base64')}` })).status).toBe(204)
    }
    const stored = await eventually(() => rows('service = {s:String}', { s: `${run}-loki` }), (r) => r.length >= 3)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await rows('service = {s:String}', { s: `${run}-loki` })).toHaveLength(3)
    expect(stored[0]).toMatchObject({ host: 'web-9', level: 'warn', message: 'disk 90% full', trace_id: '0af7651916cd43dd8448eb211c80319c' })
  })

  it('OTLP protobuf, gzip (the OpenTelemetry Collector default), with log.record.uid', async () => {
    const request = JSON.parse(fixture('otlp-logs.json'))
    const nanos = String(BigInt(Date.now()) * 1_000_000n)
    for (const resource of request.resourceLogs) {
      for (const attribute of resource.resource.attributes) if (attribute.key === 'service.name') attribute.value.stringValue = `${run}-otlp`
      for (const scope of resource.scopeLogs) for (const record of scope.logRecords) {
        if (record.timeUnixNano) record.timeUnixNano = nanos
        record.observedTimeUnixNano = nanos
        for (const key of ['traceId', 'spanId']) if (record[key]) record[key] = Buffer.from(record[key], 'hex').toString('base64')
      }
    }
    const { otlpLogsRequest } = shipperTypes()
    const body = gzipSync(otlpLogsRequest.encode(otlpLogsRequest.fromObject(request)).finish())
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await send('/otlp/v1/logs', body, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', authorization: `Bearer ${TEST_WRITE_KEY}` })
      expect(response.status).toBe(200)
    }
    // The two records with log.record.uid are stored once; the one without an id (the upstream
    // example record) is at-least-once, so its resend is a second row.
    const stored = await eventually(() => rows('service = {s:String}', { s: `${run}-otlp` }), (r) => r.length >= 4)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const final = await rows('service = {s:String}', { s: `${run}-otlp` })
    expect(final.map((row) => row.message)).toEqual(['Example log record', 'Example log record', 'payment 41 failed: card declined', '{"event":"retry","attempt":2}'])
    expect(stored.find((row) => row.level === 'error')).toMatchObject({ host: 'web-1', trace_id: '0af7651916cd43dd8448eb211c80319c' })
  })

  it('NDJSON: bad lines reported by number, the valid ones stored', async () => {
    const service = `${run}-ndjson`
    const body = [`{"service":"${service}","message":"one","id":"l-1"}`, '{"service":', `{"service":"${service}","message":"${'x'.repeat(40_000)}"}`, `{"service":"${service}","message":"two","id":"l-2"}`].join('\n')
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await send('/v1/logs', body, { 'content-type': 'application/x-ndjson', authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}` })
      expect(response.status).toBe(202)
      const answer = await response.json()
      expect(answer.accepted).toBe(2)
      expect(answer.rejected.map((error: { event: number }) => error.event)).toEqual([2, 3])
    }
    await eventually(() => rows('service = {s:String}', { s: service }), (r) => r.length >= 2)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect((await rows('service = {s:String}', { s: service })).map((row) => row.message)).toEqual(['one', 'two'])
  })
})
