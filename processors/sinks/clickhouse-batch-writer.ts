import { setMaxListeners } from 'node:events'
import type avro from 'avsc'
import { AvroDatumsBlock, AvroRowsBlock } from '../../core/clickhouse/avro-container.ts'
import type { AvroInsert } from '../../core/clickhouse/avro-insert.ts'
import type { Logger } from '../../core/logging/logger.ts'
import { retry } from '../../core/retry.ts'

export interface BatchWriterOptions {
  readonly maxBatchRows: number
  readonly flushIntervalMs: number
  readonly logger: Logger
  /** How a batch's Avro container reaches its table; the adapter depends on the ClickHouse in use. */
  readonly insertAvro: AvroInsert
  /** Called after every insert attempt (metrics). */
  readonly onInsert?: (table: string, rows: number, durationMs: number, error?: unknown) => void
}

/**
 * One table's batch as it fills: an Avro block its items are encoded into as they are added (so a
 * waiting batch holds bytes, not objects), one container when it is sent.
 */
interface AvroBlock {
  /** Throws, adding nothing, on an item that cannot be encoded: a bug rather than an outage. */
  add(items: readonly never[]): void
  readonly count: number
  container(): Buffer
}

interface Pending {
  readonly block: AvroBlock
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>
  timer?: NodeJS.Timeout
  immediate?: NodeJS.Immediate
}

export interface WriteOptions {
  /**
   * Someone is waiting to see these rows (early firings behind a live view): insert them once the
   * current turn of the event loop is over instead of after the flush interval. Rows written in
   * the same turn (every partition's tick) still share one insert.
   */
  readonly prompt?: boolean
}

/**
 * Group-commits rows into ClickHouse: callers from many partitions add rows and await the insert
 * that carries them, so ClickHouse sees few large inserts while each caller still learns exactly
 * when its rows are durable (and only then commits its offsets). A failing insert is retried with
 * backoff until it succeeds or the writer is closed; callers keep waiting, which is what pauses
 * consumption while the store is down.
 */
export class ClickHouseBatchWriter {
  private readonly pending = new Map<string, Pending>()
  private readonly aborted = new AbortController()

  constructor(private readonly options: BatchWriterOptions) {
    // Every retrying insert (one per table and batch) waits on this signal during an outage.
    setMaxListeners(0, this.aborted.signal)
  }

  /**
   * Adds Avro datums, each encoded with `schema` (raw events as they are on the log), inserted as
   * one container per batch. A table takes either rows or datums of one schema.
   */
  writeAvro(table: string, schema: avro.Schema, datums: readonly Uint8Array[], options: WriteOptions = {}): Promise<void> {
    return this.enqueue(table, datums, options, () => new AvroDatumsBlock(schema))
  }

  /**
   * Adds rows (a field per column) that go in as Avro records of `type` (avro-row-type.ts), one
   * container per batch: cheaper to encode here and several times cheaper for ClickHouse to parse
   * than JSON, which made the aggregates the larger part of the embedded engine's insert work.
   * Rows are encoded as they arrive, so a waiting batch holds bytes, not objects.
   */
  writeRows(table: string, type: avro.Type, rows: readonly Record<string, unknown>[], options: WriteOptions = {}): Promise<void> {
    return this.enqueue(table, rows, options, () => new AvroRowsBlock(type))
  }

  private enqueue(table: string, items: readonly unknown[], options: WriteOptions, newBlock: () => AvroBlock): Promise<void> {
    if (this.aborted.signal.aborted) return Promise.reject(new Error('the ClickHouse writer is closed'))
    if (items.length === 0) return Promise.resolve()
    let batch = this.pending.get(table)
    if (!batch) {
      batch = { block: newBlock(), waiters: [] }
      this.pending.set(table, batch)
    }
    try {
      batch.block.add(items as never[])
    } catch (error) {
      // Nothing of this call was added; the batch (and its other callers) go on without it.
      if (batch.block.count === 0 && batch.waiters.length === 0) this.pending.delete(table)
      return Promise.reject(error)
    }
    const done = new Promise<void>((resolve, reject) => batch!.waiters.push({ resolve, reject }))
    if (batch.block.count >= this.options.maxBatchRows) void this.flush(table)
    else if (options.prompt) batch.immediate ??= setImmediate(() => void this.flush(table))
    else if (!batch.immediate) batch.timer ??= setTimeout(() => void this.flush(table), this.options.flushIntervalMs)
    return done
  }

  private async flush(table: string): Promise<void> {
    const batch = this.pending.get(table)
    if (!batch) return
    this.pending.delete(table)
    clearTimeout(batch.timer)
    clearImmediate(batch.immediate)
    const { logger, onInsert } = this.options
    try {
      const container = batch.block.container()
      const rows = batch.block.count
      await retry(async () => {
        const started = performance.now()
        try {
          await this.options.insertAvro(table, container)
          onInsert?.(table, rows, performance.now() - started)
        } catch (error) {
          onInsert?.(table, rows, performance.now() - started, error)
          throw error
        }
      }, {
        attempts: Number.POSITIVE_INFINITY,
        minDelayMs: 100,
        maxDelayMs: 5_000,
        signal: this.aborted.signal,
        onRetry: (error, attempt, delayMs) => logger.warn({ err: error, table, rows, attempt, delayMs }, 'ClickHouse insert failed; retrying'),
      })
      for (const waiter of batch.waiters) waiter.resolve()
    } catch (error) {
      for (const waiter of batch.waiters) waiter.reject(error)
    }
  }

  /**
   * Stops retrying: every caller still waiting is rejected, so a shutdown during an outage ends.
   * Nothing is lost: their offsets were not committed, and the replay rewrites the same rows.
   */
  abort(): void {
    this.aborted.abort()
  }

  /** Flushes what is pending, then refuses new rows. Call abort() first to stop waiting for an outage. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending.keys()].map((table) => this.flush(table)))
    this.aborted.abort()
  }
}
