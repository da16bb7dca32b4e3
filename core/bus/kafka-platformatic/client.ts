/**
 * Owns the @platformatic/kafka idempotent producer. After a failed send the instance is thrown
 * away and the next send gets a fresh one (a new producer id): the library advances its sequence
 * numbers only on success, so reusing the instance after a request that may have landed could make
 * the broker take a later request for a duplicate of it and acknowledge records it never stored.
 */
import { Producer, type CompressionAlgorithmValue } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { ResolvedOptions } from '../kafka/options.ts'

export type PlatformaticProducer = Producer<Buffer, Buffer, Buffer, Buffer>

export class PlatformaticClient {
  private current: PlatformaticProducer | undefined

  constructor(
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
  ) {}

  get(): PlatformaticProducer {
    this.current ??= new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: this.options.clientId,
      bootstrapBrokers: [...this.options.brokers],
      idempotent: true,
      compression: this.options.compression satisfies CompressionAlgorithmValue,
      // The broker-side wait for the in-sync replicas (the Produce request's timeout_ms).
      timeout: this.options.ackTimeoutMs,
      connectTimeout: this.options.connectionTimeoutMs,
      requestTimeout: this.options.requestTimeoutMs,
      // An idempotent producer given retries ≤ 1 retries for ever in this library; a send must
      // fail in seconds so ingest can answer 503 (safe because a failed instance is discarded).
      retries: Math.max(2, this.options.retries),
      retryDelay: (_client, _operation, attempt) => Math.min(2_000, 100 * 2 ** (attempt - 1)),
      // As kafkajs' producer does: a topic nobody created yet is created by the broker's defaults.
      autocreateTopics: true,
    })
    return this.current
  }

  /** Drops the current instance (after a failed send); the next get() makes a new one. */
  discard(): void {
    const old = this.current
    this.current = undefined
    old?.close().catch((error: unknown) => this.logger.debug({ err: error }, 'closing a failed producer'))
  }

  async close(): Promise<void> {
    const old = this.current
    this.current = undefined
    await old?.close().catch(() => undefined)
  }
}
