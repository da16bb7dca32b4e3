/**
 * The Kafka adapter of the Bus port. Assembles the producer (accumulator and an idempotent producer
 * of the chosen client: kafkajs, or @platformatic/kafka from ../kafka-platformatic/), the kafkajs
 * consumers and admin, and health; all settings come in as options.
 */
import { Kafka } from 'kafkajs'
import { createPlatformaticProducer } from '../kafka-platformatic/producer.ts'
import { BusError, type Bus, type Consumer, type ConsumerOptions, type Producer } from '../port.ts'
import { createAdmin } from './admin.ts'
import { KafkaConsumer } from './consumer.ts'
import { Health } from './health.ts'
import { kafkajsLevel, pinoLogCreator } from './kafkajs-logger.ts'
import { resolveOptions, type KafkaBusOptions } from './options.ts'
import { createProducer, type KafkaProducer } from './producer.ts'
import { ProducerClient } from './producer-client.ts'

export type { KafkaBusOptions, Compression, KafkaClient } from './options.ts'

export interface KafkaBus extends Bus {
  readonly kind: 'kafka'
}

export function createKafkaBus(options: KafkaBusOptions): KafkaBus {
  const settings = resolveOptions(options)
  const logger = settings.logger.child({ component: 'kafka-bus' })
  const kafka = new Kafka({
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    connectionTimeout: settings.connectionTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    // kafkajs' default (5 retries from 300 ms up to 30 s apart) lets a connect take ~10 s.
    retry: { retries: settings.retries, initialRetryTime: 100, maxRetryTime: 2_000 },
    logLevel: kafkajsLevel(logger),
    logCreator: pinoLogCreator(logger),
  })

  let closing: Promise<void> | undefined
  let closed = false
  // Its own client with no retries: a probe should answer "reachable now?", not wait.
  const probeAdmin = kafka.admin({ retry: { retries: 0 } })
  let probeConnected: Promise<void> | undefined
  const health = new Health({
    intervalMs: settings.healthProbeIntervalMs,
    logger,
    async probe() {
      probeConnected ??= probeAdmin.connect().catch((error: unknown) => {
        probeConnected = undefined
        throw error
      })
      await probeConnected
      await probeAdmin.describeCluster()
    },
  })
  const isClosed = (): boolean => closed
  const producer: KafkaProducer =
    settings.client === 'platformatic'
      ? createPlatformaticProducer({ health, options: settings, isClosed })
      : createProducer({ client: new ProducerClient({ kafka, retries: settings.retries, logger }), health, options: settings, isClosed })
  const admin = createAdmin({ kafka, replicationFactor: settings.replicationFactor })
  const consumers = new Set<KafkaConsumer>()

  return {
    kind: 'kafka',
    producer: (): Producer => producer,
    consumer(consumerOptions: ConsumerOptions): Consumer {
      if (closing !== undefined) throw new BusError('the Kafka bus is closed', false, 'CLOSED')
      const consumer = new KafkaConsumer(consumerOptions, kafka, settings, logger)
      consumers.add(consumer)
      return consumer
    },
    admin: () => admin,
    healthy: () => closing === undefined && health.healthy,
    close() {
      closing ??= (async () => {
        health.close()
        // Consumers first: their in-flight batches may still produce. Then send what is queued.
        await Promise.all([...consumers].map((consumer) => consumer.stop()))
        closed = true
        await producer.drain()
        await producer.close()
        await admin.close()
        await probeAdmin.disconnect().catch(() => undefined)
      })()
      return closing
    },
  }
}
