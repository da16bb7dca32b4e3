import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createKafkaBus } from '../../core/bus/kafka/index.ts'
import { AvroCodec } from '../../core/codec/avro-codec.ts'
import { LocalSchemaRegistry } from '../../core/registry/local.ts'
import { loadSchemaCatalog } from '../../schemas/avro/catalog.ts'
import { SAMPLES } from '../../schemas/avro/fixtures/samples.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline, TEST_OPERATOR_KEY } from '../support/pipeline.ts'
import { describeWithService } from '../support/services.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

describeWithService('kafka', 'KAFKA_BROKERS', 'schema evolution across a rolling upgrade on Kafka', (brokers) => {
  const prefix = `upgrade-${Date.now()}`
  const directory = temporaryDirectory('upgrade')
  let eddy: TestPipeline
  beforeAll(async () => {
    eddy = await startTestPipeline({ KAFKA_BROKERS: brokers, EDDY_TOPIC_PREFIX: prefix, EDDY_PARTITIONS: '2' })
  }, 120_000)
  afterAll(async () => {
    await eddy?.stop()
    directory.remove()
  })

  it('v1 producers and v2 processors at the same time: both versions are read, nothing goes to the DLQ', async () => {
    // An old producer: a process of its own with only the v1 click schema and its own registry file.
    const v1 = loadSchemaCatalog().find((s) => s.stream === 'click' && s.version === 1)!
    const topics = { click: `${prefix}.clicks`, log: `${prefix}.logs`, notification: `${prefix}.notifications` }
    const oldCodec = await AvroCodec.create(new LocalSchemaRegistry(`${directory.path}/old-producer-registry.json`), topics, { click: v1.schema })
    const oldBus = createKafkaBus({ brokers: [brokers], clientId: 'eddy-v1', logger: pino({ level: 'error' }) })
    const { visitor_hash: _newField, ...v1Sample } = SAMPLES.click
    const v1Events = Array.from({ length: 50 }, (_, i) => ({ ...v1Sample, project_id: 'alpha', anonymous_id: `v1-visitor-${i}`, event_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, ts: Date.now() - 60_000, received_at: Date.now() }))
    try {
      await oldBus.producer().send(topics.click, v1Events.map((event) => ({ key: event.anonymous_id, value: oldCodec.encode('click', event as never) })))
    } finally {
      await oldBus.close()
    }
    // Meanwhile the upgraded ingest writes v2.
    const response = await fetch(`${eddy.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: Array.from({ length: 50 }, (_, i) => ({ type: 'page', anonymousId: `v2-visitor-${i}`, messageId: `v2-${i}`, properties: { url: 'https://shop.example/pricing' } })) }),
    })
    expect(response.status).toBe(202)

    const clickhouse = await eddy.runtime.clickhouse()
    const counts = await eventually(async () => {
      const rows = await (await clickhouse.query({ query: "SELECT startsWith(anonymous_id, 'v1-') AS old, count() AS n, countIf(visitor_hash = '') AS without_hash FROM eddy.events_click FINAL WHERE project_id = 'alpha' GROUP BY old ORDER BY old", format: 'JSONEachRow' })).json<{ old: number; n: string; without_hash: string }>()
      return rows.map((r) => ({ old: Number(r.old), n: Number(r.n), withoutHash: Number(r.without_hash) }))
    }, (rows) => rows.reduce((sum, r) => sum + r.n, 0) === 100, 60_000)
    expect(counts).toEqual([{ old: 0, n: 50, withoutHash: 50 }, { old: 1, n: 50, withoutHash: 50 }])
    const health = await eventually(async () => (await (await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}` } })).json()) as { lag: number }, (h) => h.lag === 0, 60_000)
    expect(health.lag).toBe(0)
    const bus = await eddy.runtime.bus()
    const deadLetters = (await bus.admin().topicOffsets(`${prefix}.dlq`)).reduce((sum, p) => sum + p.high - p.low, 0)
    expect(deadLetters).toBe(0)
  }, 180_000)
})
