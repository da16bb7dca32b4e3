import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { KeyRing } from '../../core/auth/keys.ts'
import { AvroCodec } from '../../core/codec/avro-codec.ts'
import { LocalSchemaRegistry } from '../../core/registry/local.ts'
import { buildIngestApp, type IngestOptions } from '../../ingest/app.ts'
import { EventPublisher } from '../../ingest/publisher.ts'
import { RecordingProducer } from './recording-producer.ts'
import { temporaryDirectory } from './temp-dir.ts'

export const INGEST_TOPICS = { click: 'eddy.clicks', log: 'eddy.logs', notification: 'eddy.notifications' } as const

export interface IngestHarness {
  app: FastifyInstance
  producer: RecordingProducer
  codec: AvroCodec
}

/**
 * An ingest app for app.inject() suites, publishing to a RecordingProducer: the app and producer
 * are new for every test, the codec is one per file. Registers the vitest hooks itself.
 */
export function useIngestApp(config: IngestOptions['config'], options: { now: number; writeKey: string; name: string }): IngestHarness {
  const directory = temporaryDirectory(options.name)
  const harness = {} as IngestHarness
  beforeAll(async () => {
    harness.codec = await AvroCodec.create(new LocalSchemaRegistry(`${directory.path}/registry.json`), INGEST_TOPICS)
  })
  beforeEach(async () => {
    harness.producer = new RecordingProducer()
    harness.app = await buildIngestApp({
      config,
      keys: new KeyRing([{ id: 'shop', writeKeys: [options.writeKey], readKeys: ['shop-read-key'] }]),
      publisher: new EventPublisher({ producer: harness.producer, codec: harness.codec, topics: INGEST_TOPICS, timeoutMs: config.ingest.produceTimeoutMs, busHealthy: () => true }),
      logger: pino({ level: 'silent' }),
      clock: () => options.now,
    })
  })
  afterAll(() => directory.remove())
  return harness
}
