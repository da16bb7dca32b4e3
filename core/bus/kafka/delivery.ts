/**
 * kafkajs' eachBatch turned into the port's batch handler calls: at most maxBatchRecords per call,
 * one partition's calls strictly in order, an offset resolved (kafkajs' next fetch position, not a
 * commit) only after the handler returned. A failing handler gets the same records again after a
 * backoff, never skipping them; a stopping, seeking, pausing or rebalancing consumer gets no more.
 */
import type { EachBatchPayload } from 'kafkajs'
import type { Logger } from 'pino'
import { abortableSleep } from '../../retry.ts'
import type { BatchHandler } from '../port.ts'
import type { Rebalances } from './rebalance.ts'
import { toBusRecord } from './records.ts'

export interface DeliveryOptions {
  readonly rebalances: Rebalances
  readonly isPaused: (topic: string, partition: number) => boolean
  readonly maxBatchRecords: number
  readonly retryBackoffMs: number
  readonly heartbeatIntervalMs: number
  readonly logger: Logger
}

const MAX_BACKOFF_MS = 30_000

export class BatchDelivery {
  private readonly failures = new Map<string, number>()
  private readonly stopped = new AbortController()
  private handling = 0
  private idleWaiters: (() => void)[] = []

  constructor(
    private readonly handler: BatchHandler,
    private readonly options: DeliveryOptions,
  ) {}

  /** No batch starts after this; resolves once the handler calls in flight have returned. */
  stop(): Promise<void> {
    this.stopped.abort()
    return this.handling === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  readonly eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const { rebalances, isPaused, maxBatchRecords } = this.options
    // onAssigned must have returned before the first batch of its partitions.
    await rebalances.settled()
    const { topic, partition } = batch
    const highWatermark = Number(batch.highWatermark)
    for (let start = 0; start < batch.messages.length; start += maxBatchRecords) {
      if (this.stopped.signal.aborted || !isRunning() || isStale() || isPaused(topic, partition) || !rebalances.owns(topic, partition)) return
      const messages = batch.messages.slice(start, start + maxBatchRecords)
      const records = messages.map((message) => toBusRecord(topic, partition, message))
      if (!(await this.call({ topic, partition, records, highWatermark }, heartbeat))) return
      resolveOffset(messages[messages.length - 1]!.offset)
    }
  }

  /** True when the handler succeeded; false after a failure and its backoff (kafkajs fetches the records again). */
  private async call(batch: Parameters<BatchHandler>[0], heartbeat: () => Promise<void>): Promise<boolean> {
    const key = `${batch.topic}/${batch.partition}`
    this.handling++
    // A handler may wait long (a sink that is down); heartbeats keep the member in its group meanwhile.
    const keepAlive = setInterval(() => void heartbeat().catch(() => undefined), this.options.heartbeatIntervalMs)
    try {
      await this.handler(batch)
      this.failures.delete(key)
      return true
    } catch (error) {
      const failures = (this.failures.get(key) ?? 0) + 1
      this.failures.set(key, failures)
      this.options.logger.error({ err: error, topic: batch.topic, partition: batch.partition, offset: batch.records[0]?.offset }, 'batch handler failed; retrying the batch')
      await abortableSleep(Math.min(MAX_BACKOFF_MS, this.options.retryBackoffMs * 2 ** (failures - 1)), this.stopped.signal)
      return false
    } finally {
      clearInterval(keepAlive)
      if (--this.handling === 0) for (const resolve of this.idleWaiters.splice(0)) resolve()
    }
  }
}
