import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { AvroCodec } from '../core/codec/avro-codec.ts'
import { LocalSchemaRegistry } from '../core/registry/local.ts'
import type { BulkIndexer } from '../core/search/elasticsearch/indexer.ts'
import { SAMPLES } from '../schemas/avro/fixtures/samples.ts'
import type { LogEvent } from '../schemas/types.generated.ts'
import { RecordingProducer } from '../test/support/recording-producer.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { OutputWriter } from './outputs.ts'
import type { ClickHouseBatchWriter } from './sinks/clickhouse-batch-writer.ts'

const TOPICS = { click: 'eddy.clicks', log: 'eddy.logs', notification: 'eddy.notifications' } as const
const directory = temporaryDirectory('outputs')
afterAll(() => directory.remove())

it('sends the events Elasticsearch refused to the DLQ, re-encoded, with the reason; the rest are done', async () => {
  const codec = await AvroCodec.create(new LocalSchemaRegistry(join(directory.path, 'registry.json')), TOPICS)
  const good = { ...(SAMPLES.log as LogEvent), event_id: '6f1c1d52-6d3c-4c1e-9d7f-2a4b8f0e1a11' }
  const refused = { ...good, event_id: '6f1c1d52-6d3c-4c1e-9d7f-2a4b8f0e1a12', message: 'too odd' }
  const indexed: string[] = []
  const indexer = {
    async index(_stream: string, events: LogEvent[]) {
      indexed.push(...events.map((event) => event.event_id))
      return events.filter((event) => event === refused).map((event) => ({ event, reason: 'document_parsing_exception: failed to parse field [message]' }))
    },
  } as unknown as BulkIndexer
  const producer = new RecordingProducer()
  const writer = new OutputWriter({ outputs: {}, streamSinks: [{ kind: 'search-index', stream: 'log', dlqTopic: 'eddy.dlq' }] }, {} as ClickHouseBatchWriter, producer, codec, indexer)

  await writer.write({ rows: {}, datums: [], events: [good, refused] })

  expect(indexed).toEqual([good.event_id, refused.event_id])
  expect(producer.sent).toHaveLength(1)
  const { topic, record } = producer.sent[0]!
  expect(topic).toBe('eddy.dlq')
  expect(record.key).toBe(refused.event_id)
  expect(record.headers).toEqual({ 'eddy.dlq.reason': 'elasticsearch: document_parsing_exception: failed to parse field [message]', 'eddy.dlq.job': 'search-index' })
  expect(codec.decode('log', record.value as Buffer)).toMatchObject({ ok: true, value: refused })
})

it('fails loudly when events are bound to search indexing but no indexer was given', async () => {
  const codec = await AvroCodec.create(new LocalSchemaRegistry(join(directory.path, 'registry-2.json')), TOPICS)
  const writer = new OutputWriter({ outputs: {}, streamSinks: [{ kind: 'search-index', stream: 'log', dlqTopic: 'eddy.dlq' }] }, {} as ClickHouseBatchWriter, new RecordingProducer(), codec)
  await expect(writer.write({ rows: {}, datums: [], events: [SAMPLES.log as LogEvent] })).rejects.toThrow(/no indexer/)
})
