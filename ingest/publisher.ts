import { BusError, type Producer, type ProduceRecord } from '../core/bus/port.ts'
import type { AvroCodec, EventByStream } from '../core/codec/avro-codec.ts'
import { ProblemError } from '../core/http/problem.ts'
import { PARTITION_KEY } from '../core/bus/partition-key.ts'
import type { EddyMetrics } from '../core/metrics/index.ts'
import type { Stream } from '../schemas/avro/catalog.ts'
import { INGEST_PROBLEMS } from './errors.ts'

export interface PublisherOptions {
  readonly producer: Producer
  readonly codec: AvroCodec
  readonly topics: Readonly<Record<Stream, string>>
  readonly timeoutMs: number
  readonly busHealthy: () => boolean
  /** Told about events once they are durable (the live feed); must not throw or block. */
  readonly onPublished?: <S extends Stream>(stream: S, events: readonly EventByStream[S][]) => void
  /** Counts accepted events and times the log's acknowledgement; absent in tests that do not look. */
  readonly metrics?: Pick<EddyMetrics, 'ingestEvents' | 'produceDuration'>
}

/**
 * Encodes events and appends them to the bus, resolving only when every one is durable. Any
 * failure or a timeout becomes 503 + Retry-After: the client was told nothing was accepted, so
 * it retries, and event ids make the retry idempotent downstream.
 */
export class EventPublisher {
  /** Why the last send failed; while the log stays unhealthy, refusals keep saying it. */
  private lastFailure: BusError['code'] | undefined

  constructor(private readonly options: PublisherOptions) {}

  async publish<S extends Stream>(stream: S, events: readonly EventByStream[S][]): Promise<void> {
    if (events.length === 0) return
    const { producer, codec, topics, timeoutMs, busHealthy } = this.options
    if (!busHealthy()) throw this.lastFailure === 'DISK_FULL' ? storageFull() : unavailable('the event log is not accepting writes right now')
    const key = PARTITION_KEY[stream] as (event: EventByStream[S]) => string
    const values = codec.encodeMany(stream, events)
    const records: ProduceRecord[] = new Array(events.length)
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!
      records[index] = { key: key(event), value: values[index]!, timestamp: event.ts }
    }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(unavailable(`the event log did not acknowledge within ${timeoutMs} ms`)), timeoutMs)
    })
    const started = performance.now()
    try {
      await Promise.race([producer.send(topics[stream], records), timeout])
    } catch (error) {
      if (error instanceof ProblemError) throw error
      this.lastFailure = error instanceof BusError ? error.code : undefined
      if (this.lastFailure === 'DISK_FULL') throw storageFull()
      throw unavailable(`the event log refused the write: ${(error as Error).message}`)
    } finally {
      clearTimeout(timer)
    }
    this.lastFailure = undefined
    // Only acknowledged sends are timed and counted: a timeout says nothing of the log's latency
    // (it is the 503 counted among the rejections), and its events were not accepted.
    const { metrics } = this.options
    if (metrics) {
      metrics.produceDuration.observe({ topic: topics[stream] }, (performance.now() - started) / 1_000)
      metrics.ingestEvents.inc({ stream }, events.length)
    }
    this.options.onPublished?.(stream, events)
  }
}

/** A full disk says more than "try again": whoever runs Eddy has to free space (507). */
function storageFull(): ProblemError {
  return new ProblemError(INGEST_PROBLEMS.INGEST_STORAGE_FULL, 'the disk under the event log is full', undefined, { 'retry-after': '30' })
}

function unavailable(detail: string): ProblemError {
  return new ProblemError(INGEST_PROBLEMS.INGEST_BUS_UNAVAILABLE, detail, undefined, { 'retry-after': '5' })
}
