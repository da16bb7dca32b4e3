/**
 * Owns the kafkajs idempotent producer. After a failed send the instance is thrown away and the
 * next send gets a fresh one (a new producer id): kafkajs rolls its sequence numbers back on
 * failure, so reusing the instance could make the broker take a later request for a duplicate of
 * one that did land, and acknowledge records it never stored.
 */
import type { Kafka, Producer as KafkajsProducer } from 'kafkajs'
import type { Logger } from 'pino'
import { recordingPartitioner, type RecordingPartitioner } from './partitioner.ts'

export interface ProducerClientOptions {
  readonly kafka: Kafka
  readonly retries: number
  readonly logger: Logger
}

export class ProducerClient {
  readonly partitioner: RecordingPartitioner = recordingPartitioner()
  private current: Promise<KafkajsProducer> | undefined

  constructor(private readonly options: ProducerClientOptions) {}

  /** The connected producer, connecting a new one if there is none. */
  get(): Promise<KafkajsProducer> {
    if (this.current === undefined) {
      const producer = this.options.kafka.producer({
        idempotent: true,
        // kafkajs serialises an idempotent producer's requests per broker anyway; say so.
        maxInFlightRequests: 1,
        createPartitioner: this.partitioner.create,
        // Bounded, unlike kafkajs' idempotent default (retry for ever): a send must fail in
        // seconds so ingest can answer 503. Safe because a failed instance is discarded.
        retry: { retries: this.options.retries, initialRetryTime: 100, maxRetryTime: 2_000 },
      })
      const connecting = producer.connect().then(() => producer)
      this.current = connecting
      connecting.catch(() => {
        if (this.current === connecting) this.current = undefined
      })
    }
    return this.current
  }

  /** Drops the current instance (after a failed send); the next get() connects a new one. */
  discard(): void {
    const old = this.current
    this.current = undefined
    old?.then((producer) => producer.disconnect()).catch((error: unknown) => this.options.logger.debug({ err: error }, 'disconnecting a failed producer'))
  }

  async close(): Promise<void> {
    const old = this.current
    this.current = undefined
    await old?.then((producer) => producer.disconnect()).catch(() => undefined)
  }
}
