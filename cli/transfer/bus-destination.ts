import { ProblemError } from '../../core/http/problem.ts'
import { retry } from '../../core/retry.ts'
import type { EventPublisher } from '../../ingest/publisher.ts'
import type { BatchRefusal, ImportDestination } from './destination.ts'
import type { AcceptedLine } from './normalise-line.ts'

export interface BusDestinationOptions {
  readonly publisher: EventPublisher
  readonly description: string
  readonly close?: () => Promise<void>
  /** Told about each retry of a batch the log did not acknowledge. */
  readonly onRetry?: (error: unknown, attempt: number) => void
}

/**
 * Publishes through ingest's EventPublisher onto the bus: the same encoding, partition keys and
 * acknowledgement as a 202. A refused write (the log unhealthy, a timeout) is retried with
 * backoff for a while; events carry their ids, so a retry that did land twice stores once.
 */
export function busDestination(options: BusDestinationOptions): ImportDestination {
  return {
    description: options.description,
    async publish(batch: readonly AcceptedLine[]): Promise<readonly BatchRefusal[]> {
      if (batch.length === 0) return []
      const stream = batch[0]!.stream
      const events = batch.map((line) => line.event)
      await retry(() => options.publisher.publish(stream, events as never), {
        attempts: 10,
        minDelayMs: 200,
        maxDelayMs: 10_000,
        // Ingest's 503/507 are what the publisher throws when the log did not take the write.
        retriable: (error) => error instanceof ProblemError && error.definition.status >= 500,
        onRetry: (error, attempt) => options.onRetry?.(error, attempt),
      })
      return []
    },
    close: async () => options.close?.(),
  }
}
