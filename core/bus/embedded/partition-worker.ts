/**
 * The fetch loop of one assigned partition: read from the position, hand the batch to the
 * handler, wait for it, move on. One loop per partition is what makes batches of a partition
 * strictly sequential while partitions run concurrently. It sleeps on the partition's append
 * signal or its own wake-up (seek, resume, stop) — never on a polling timer.
 */
import type { Logger } from 'pino'
import type { BatchHandler } from '../port.ts'
import type { Partition } from './partition.ts'

export interface WorkerOptions {
  readonly partition: Partition
  readonly handler: BatchHandler
  readonly maxBatchRecords: number
  readonly isPaused: () => boolean
  readonly retryBackoffMs: number
  readonly logger: Logger
}

const MAX_BACKOFF_MS = 30_000

export class PartitionWorker {
  private position: number
  private seekTarget: number | undefined
  private active = true
  private wakeUp: (() => void) | undefined
  private failures = 0
  readonly done: Promise<void>

  constructor(
    private readonly options: WorkerOptions,
    start: number,
  ) {
    this.position = start
    this.done = this.loop()
  }

  seek(offset: number): void {
    this.seekTarget = offset
    this.wake()
  }

  wake(): void {
    const wakeUp = this.wakeUp
    this.wakeUp = undefined
    wakeUp?.()
  }

  /** Resolves once the batch in flight (if any) has been handled; no batch starts after this. */
  stop(): Promise<void> {
    this.active = false
    this.wake()
    return this.done
  }

  private async loop(): Promise<void> {
    const { partition, handler, maxBatchRecords, isPaused, logger } = this.options
    while (this.active) {
      if (this.seekTarget !== undefined) {
        this.position = this.seekTarget
        this.seekTarget = undefined
      }
      if (isPaused()) {
        await this.sleep()
        continue
      }
      if (this.position >= partition.high) {
        await this.sleep(partition.nextAppend())
        continue
      }
      let records
      try {
        records = await partition.read(this.position, maxBatchRecords)
      } catch (error) {
        logger.error({ err: error, topic: partition.topic, partition: partition.id, offset: this.position }, 'fetch failed')
        await this.backoff()
        continue
      }
      // The world may have changed while reading: deliver nothing a stop, seek or pause forbids.
      if (!this.active || this.seekTarget !== undefined || isPaused() || records.length === 0) continue
      const first = records[0]!.offset
      if (first > this.position) {
        logger.warn({ topic: partition.topic, partition: partition.id, from: this.position, to: first }, 'position was below the retained log; skipped ahead')
      }
      try {
        await handler({ topic: partition.topic, partition: partition.id, records, highWatermark: partition.high })
        this.position = records[records.length - 1]!.offset + 1
        this.failures = 0
      } catch (error) {
        // At-least-once: the same records are delivered again after a pause.
        logger.error({ err: error, topic: partition.topic, partition: partition.id, offset: first }, 'batch handler failed; retrying the batch')
        await this.backoff()
      }
    }
  }

  private sleep(also?: Promise<void>): Promise<void> {
    const woken = new Promise<void>((resolve) => (this.wakeUp = resolve))
    return also === undefined ? woken : Promise.race([woken, also])
  }

  private async backoff(): Promise<void> {
    this.failures++
    const delay = Math.min(MAX_BACKOFF_MS, this.options.retryBackoffMs * 2 ** (this.failures - 1))
    let timer: NodeJS.Timeout | undefined
    await this.sleep(new Promise<void>((resolve) => (timer = setTimeout(resolve, delay))))
    clearTimeout(timer)
  }
}
