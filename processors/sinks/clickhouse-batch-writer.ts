import { setMaxListeners } from 'node:events'
import type { ClickHouseClient } from '@clickhouse/client'
import type { Logger } from '../../core/logging/logger.ts'
import { retry } from '../../core/retry.ts'

export interface BatchWriterOptions {
  readonly client: ClickHouseClient
  readonly maxBatchRows: number
  readonly flushIntervalMs: number
  readonly logger: Logger
  /** Called after every insert attempt (metrics). */
  readonly onInsert?: (table: string, rows: number, durationMs: number, error?: unknown) => void
}

interface Pending {
  rows: Record<string, unknown>[]
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>
  timer?: NodeJS.Timeout
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
  private readonly abort = new AbortController()

  constructor(private readonly options: BatchWriterOptions) {
    // Every retrying insert (one per table and batch) waits on this signal during an outage.
    setMaxListeners(0, this.abort.signal)
  }

  write(table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
    if (this.abort.signal.aborted) return Promise.reject(new Error('the ClickHouse writer is closed'))
    if (rows.length === 0) return Promise.resolve()
    let batch = this.pending.get(table)
    if (!batch) {
      batch = { rows: [], waiters: [] }
      this.pending.set(table, batch)
    }
    for (const row of rows) batch.rows.push(row)
    const done = new Promise<void>((resolve, reject) => batch!.waiters.push({ resolve, reject }))
    if (batch.rows.length >= this.options.maxBatchRows) void this.flush(table)
    else batch.timer ??= setTimeout(() => void this.flush(table), this.options.flushIntervalMs)
    return done
  }

  private async flush(table: string): Promise<void> {
    const batch = this.pending.get(table)
    if (!batch) return
    this.pending.delete(table)
    clearTimeout(batch.timer)
    const { client, logger, onInsert } = this.options
    try {
      await retry(async () => {
        const started = performance.now()
        try {
          await client.insert({ table, values: batch.rows, format: 'JSONEachRow' })
          onInsert?.(table, batch.rows.length, performance.now() - started)
        } catch (error) {
          onInsert?.(table, batch.rows.length, performance.now() - started, error)
          throw error
        }
      }, {
        attempts: Number.POSITIVE_INFINITY,
        minDelayMs: 100,
        maxDelayMs: 5_000,
        signal: this.abort.signal,
        onRetry: (error, attempt, delayMs) => logger.warn({ err: error, table, rows: batch.rows.length, attempt, delayMs }, 'ClickHouse insert failed; retrying'),
      })
      for (const waiter of batch.waiters) waiter.resolve()
    } catch (error) {
      for (const waiter of batch.waiters) waiter.reject(error)
    }
  }

  /** Flushes what is pending, then refuses new rows; in-flight retries stop. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending.keys()].map((table) => this.flush(table)))
    this.abort.abort()
  }
}
