/**
 * The server side of the ingest benchmark, run as a child process so the load generator gets a
 * core of its own. Modes:
 *   eddy      — Eddy's ingest (validation, normalisation, Avro) into the durable embedded log.
 *   kafka     — the same ingest producing to the Kafka broker given as the third argument.
 *   reference — the physical floor: a bare fastify route that parses the same JSON and
 *               Avro-encodes each event with the same schema, with no validation and no bus.
 * Prints `{"port": N}` on stdout once listening.
 */
import Fastify from 'fastify'
import pino from 'pino'
import { KeyRing } from '../core/auth/keys.ts'
import { createEmbeddedBus } from '../core/bus/embedded/index.ts'
import { createKafkaBus } from '../core/bus/kafka/index.ts'
import { AvroCodec } from '../core/codec/avro-codec.ts'
import { LocalSchemaRegistry } from '../core/registry/local.ts'
import { buildIngestApp } from '../ingest/app.ts'
import { EventPublisher } from '../ingest/publisher.ts'
import type { ClickEvent } from '../schemas/types.generated.ts'

const [mode, dataDir, brokers] = process.argv.slice(2) as ['eddy' | 'kafka' | 'reference', string, string | undefined]
const prefix = mode === 'kafka' ? `bench-${process.pid}` : 'eddy'
const TOPICS = { click: `${prefix}.clicks`, log: `${prefix}.logs`, notification: `${prefix}.notifications` }
const codec = await AvroCodec.create(new LocalSchemaRegistry(`${dataDir}/registry.json`), TOPICS)
const logger = pino({ level: 'warn' })

if (mode === 'eddy' || mode === 'kafka') {
  const bus = mode === 'kafka'
    ? createKafkaBus({ brokers: [brokers!], clientId: 'eddy-bench', logger })
    : createEmbeddedBus({ dataDir, defaultPartitions: 4, logger })
  if ('ready' in bus) await bus.ready
  await bus.admin().ensureTopics([{ topic: TOPICS.click, partitions: 4 }])
  const app = await buildIngestApp({
    config: { ingest: { maxEventBytes: 32 * 1024, maxRequestBytes: 500 * 1024, maxFutureMs: 86_400_000, produceTimeoutMs: 5_000 }, retentionDays: 400 },
    keys: new KeyRing([{ id: 'bench', writeKeys: ['bench-write-key'], readKeys: [] }]),
    publisher: new EventPublisher({ producer: bus.producer(), codec, topics: TOPICS, timeoutMs: 5_000, busHealthy: () => bus.healthy() }),
    logger,
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port })}\n`)
  process.on('SIGTERM', async () => {
    await app.close()
    await bus.close()
    process.exit(0)
  })
} else {
  const app = Fastify({ logger: false, bodyLimit: 500 * 1024 })
  app.post('/v1/batch', async (request, reply) => {
    const { batch } = request.body as { batch: Array<Record<string, any>> }
    for (const message of batch) {
      const event: ClickEvent = {
        event_id: message.messageId, project_id: 'bench', type: 'pageview', name: message.name ?? '', ts: Date.parse(message.timestamp), received_at: Date.now(),
        anonymous_id: message.anonymousId, user_id: null, session_id: message.context?.sessionId ?? '', url: message.properties?.url ?? '', path: message.properties?.path ?? '',
        title: message.properties?.title ?? '', referrer: message.properties?.referrer ?? '', referrer_domain: '', utm_source: '', utm_medium: '', utm_campaign: '', utm_term: '', utm_content: '',
        browser: '', os: '', device_type: '', country: null, screen: '', locale: message.context?.locale ?? '', properties: {}, visitor_hash: null,
      }
      codec.encode('click', event)
    }
    return reply.code(202).send({ success: true, accepted: batch.length })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port })}\n`)
  process.on('SIGTERM', async () => {
    await app.close()
    process.exit(0)
  })
}
