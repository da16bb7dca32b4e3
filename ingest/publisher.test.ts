import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { AvroCodec } from '../core/codec/avro-codec.ts'
import { ProblemError } from '../core/http/problem.ts'
import { LocalSchemaRegistry } from '../core/registry/local.ts'
import { SAMPLES } from '../schemas/avro/fixtures/samples.ts'
import type { LogEvent } from '../schemas/types.generated.ts'
import { INGEST_TOPICS } from '../test/support/ingest-app.ts'
import { RecordingProducer } from '../test/support/recording-producer.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { EventPublisher } from './publisher.ts'

const directory = temporaryDirectory('publisher')
afterAll(() => directory.remove())

it('keeps answering "storage full" while the log stays unhealthy after a full disk, and "unavailable" after other failures', async () => {
  const codec = await AvroCodec.create(new LocalSchemaRegistry(join(directory.path, 'registry.json')), INGEST_TOPICS)
  const producer = new RecordingProducer()
  let healthy = true
  const publisher = new EventPublisher({ producer, codec, topics: INGEST_TOPICS, timeoutMs: 1_000, busHealthy: () => healthy })
  const code = async () => {
    try {
      await publisher.publish('log', [SAMPLES.log as LogEvent])
      return 'accepted'
    } catch (error) {
      return (error as ProblemError).definition.code
    }
  }
  producer.mode = 'disk-full'
  expect(await code()).toBe('INGEST_STORAGE_FULL')
  healthy = false // the log marked itself unhealthy and is probing
  expect(await code()).toBe('INGEST_STORAGE_FULL')
  healthy = true
  producer.mode = 'ok'
  expect(await code()).toBe('accepted')
  producer.mode = 'fail'
  expect(await code()).toBe('INGEST_BUS_UNAVAILABLE')
  healthy = false
  expect(await code()).toBe('INGEST_BUS_UNAVAILABLE')
})
