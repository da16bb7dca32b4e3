/** Helpers shared by the Kafka adapter's tests (not a test file itself). */
import { pino } from 'pino'
import type { KafkaBusOptions } from './options.ts'

export const quietLogger = pino({ level: 'silent' })

/** Short waits and heartbeats: a test broker is local, and rebalances should take ~1 s, not ~5 s. */
export function testOptions(brokers: string, overrides: Partial<KafkaBusOptions> = {}): KafkaBusOptions {
  return {
    brokers: brokers.split(',').map((broker) => broker.trim()),
    clientId: 'eddy-test',
    logger: quietLogger,
    maxWaitTimeMs: 200,
    heartbeatIntervalMs: 500,
    sessionTimeoutMs: 10_000,
    consumerRetryBackoffMs: 50,
    healthProbeIntervalMs: 1_000,
    ...overrides,
  }
}
