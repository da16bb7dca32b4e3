import { EventPublisher } from '../../ingest/publisher.ts'
import type { Runtime } from '../runtime.ts'
import { busDestination } from './bus-destination.ts'
import type { ImportDestination } from './destination.ts'
import { httpDestination } from './http-destination.ts'
import { runningEddyUrl } from './operator-options.ts'

export interface DestinationChoice {
  readonly runtime: Runtime
  readonly writeKey: string
  /** A running ingest to post to; wins over everything else. */
  readonly url?: string
  readonly onRetry?: (reason: string) => void
}

/**
 * Where an import publishes. Onto the bus itself wherever this process may produce to it: Kafka
 * takes any number of producers, and an embedded log nobody holds is opened here (its lock kept
 * for the import; the processors read the events when `eddy start` next runs). An embedded log
 * held by a running `eddy start` belongs to that process (two writers would corrupt its
 * segments), so the events go through its ingest over HTTP instead, exactly as a client's would.
 */
export async function openDestination(choice: DestinationChoice): Promise<ImportDestination> {
  const { runtime, writeKey } = choice
  const { config } = runtime
  const overHttp = (baseUrl: string) => httpDestination({ baseUrl, writeKey, onRetry: (status) => choice.onRetry?.(`ingest answered ${status || 'nothing'}`) })
  if (choice.url) return overHttp(choice.url.replace(/\/$/, ''))
  const running = config.kafkaBrokers.length === 0 ? runningEddyUrl(config) : undefined
  if (running !== undefined) return overHttp(running)
  const bus = await runtime.bus()
  const publisher = new EventPublisher({
    producer: bus.producer(),
    codec: await runtime.codec(),
    topics: config.topics,
    timeoutMs: config.ingest.produceTimeoutMs,
    busHealthy: () => bus.healthy(),
  })
  return busDestination({
    publisher,
    description: bus.kind === 'kafka' ? `Kafka ${config.kafkaBrokers.join(',')}` : `the embedded log in ${config.dataDir}`,
    onRetry: (error) => choice.onRetry?.((error as Error).message),
  })
}
