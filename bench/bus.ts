/**
 * Embedded bus benchmark: many concurrent callers produce 100-record batches of ~400-byte values
 * (ingest's shape), then one consumer reads them all back. Ack latency is per send() call. The
 * reference is the same load appended raw to one file with the same group commit.
 */
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { createEmbeddedBus } from '../core/bus/embedded/index.ts'
import type { ProduceRecord } from '../core/bus/port.ts'

export interface BusBenchOptions {
  readonly dataDir: string
  readonly records?: number
  /** Concurrent send() callers, each awaiting its ack before the next call (like ingest requests). Default 16. */
  readonly callers?: number
  readonly onProgress?: (done: number, total: number) => void
}

export interface RawAppendResult {
  readonly recordsPerSec: number
  readonly ackP50Ms: number
  readonly ackP99Ms: number
  /** fdatasyncs, one per group: how many sends a group carried on average is records / 100 / syncs. */
  readonly syncs: number
}

export interface BusBenchResult {
  readonly produceRecordsPerSec: number
  readonly ackP50Ms: number
  readonly ackP99Ms: number
  readonly consumeRecordsPerSec: number
  readonly records: number
}

const BATCH = 100
const PARTITIONS = 6
const VALUE_BYTES = 400

export async function benchEmbeddedBus(options: BusBenchOptions): Promise<BusBenchResult> {
  const batches = Math.max(1, Math.ceil((options.records ?? 300_000) / BATCH))
  const total = batches * BATCH
  const bus = createEmbeddedBus({ dataDir: options.dataDir, logger: pino({ level: 'warn' }) })
  try {
    const topic = `bench-${Date.now()}`
    await bus.admin().ensureTopics([{ topic, partitions: PARTITIONS }])
    const producer = bus.producer()
    const values = recordValues()
    const latencies = new Float64Array(batches)
    let nextBatch = 0
    let produced = 0

    const started = performance.now()
    await Promise.all(
      Array.from({ length: options.callers ?? 16 }, async () => {
        for (let batch = nextBatch++; batch < batches; batch = nextBatch++) {
          const records: ProduceRecord[] = new Array(BATCH)
          for (let i = 0; i < BATCH; i++) {
            const n = batch * BATCH + i
            records[i] = { key: `session-${n % 5000}`, value: values[n % values.length]! }
          }
          const sent = performance.now()
          await producer.send(topic, records)
          latencies[batch] = performance.now() - sent
          produced += BATCH
          if (batch % 100 === 0) options.onProgress?.(produced, total * 2)
        }
      }),
    )
    const produceSeconds = (performance.now() - started) / 1000

    let consumed = 0
    const consumeStarted = performance.now()
    const consumer = bus.consumer({ groupId: `${topic}-reader`, topics: [topic], maxBatchRecords: 1000 })
    let finished!: () => void
    const done = new Promise<void>((resolve) => (finished = resolve))
    await consumer.run(async (batch) => {
      consumed += batch.records.length
      if (consumed % 10_000 < batch.records.length) options.onProgress?.(total + consumed, total * 2)
      if (consumed >= total) finished()
    })
    await done
    const consumeSeconds = (performance.now() - consumeStarted) / 1000
    await consumer.stop()

    latencies.sort()
    return {
      produceRecordsPerSec: Math.round(total / produceSeconds),
      ackP50Ms: round(percentile(latencies, 0.5)),
      ackP99Ms: round(percentile(latencies, 0.99)),
      consumeRecordsPerSec: Math.round(total / consumeSeconds),
      records: total,
    }
  } finally {
    await bus.close()
  }
}

/** Distinct values per record, as real events are, built before the clock starts. */
function recordValues(): Buffer[] {
  return Array.from({ length: 1024 }, (_, i) => Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(VALUE_BYTES) }).slice(0, VALUE_BYTES)))
}

/**
 * The physical floor of a durable log on this disk under the same load: the same callers append
 * the same key and value bytes (no framing, CRC, index or partitions) to one file. Like the log's
 * group commit, every append issued while a cycle runs (or in the same tick) joins the next one,
 * and a cycle is one write and one fdatasync; an append is acknowledged after its fdatasync.
 */
export async function benchRawAppend(options: BusBenchOptions): Promise<RawAppendResult> {
  const batches = Math.max(1, Math.ceil((options.records ?? 300_000) / BATCH))
  const total = batches * BATCH
  const values = recordValues()
  const keys = Array.from({ length: 5000 }, (_, i) => Buffer.from(`session-${i}`))
  const file = await open(join(options.dataDir, 'raw-append.log'), 'wx')
  try {
    let pending: { pieces: Buffer[]; acks: Array<() => void> } = { pieces: [], acks: [] }
    let cycle: Promise<void> | undefined
    let position = 0
    let syncs = 0
    const flush = async () => {
      await new Promise<void>((resolve) => setImmediate(resolve))
      while (pending.acks.length > 0) {
        const { pieces, acks } = pending
        pending = { pieces: [], acks: [] }
        const buffer = Buffer.concat(pieces)
        for (let done = 0; done < buffer.length;) done += (await file.write(buffer, done, buffer.length - done, position + done)).bytesWritten
        position += buffer.length
        await file.datasync()
        syncs++
        for (const ack of acks) ack()
      }
      cycle = undefined
    }
    const latencies = new Float64Array(batches)
    let nextBatch = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: options.callers ?? 16 }, async () => {
        for (let batch = nextBatch++; batch < batches; batch = nextBatch++) {
          const sent = performance.now()
          const acked = new Promise<void>((resolve) => pending.acks.push(resolve))
          for (let i = 0; i < BATCH; i++) {
            const n = batch * BATCH + i
            pending.pieces.push(keys[n % 5000]!, values[n % values.length]!)
          }
          cycle ??= flush()
          await acked
          latencies[batch] = performance.now() - sent
          if (batch % 100 === 0) options.onProgress?.(batch * BATCH, total)
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    latencies.sort()
    return { recordsPerSec: Math.round(total / seconds), ackP50Ms: round(percentile(latencies, 0.5)), ackP99Ms: round(percentile(latencies, 0.99)), syncs }
  } finally {
    await file.close()
  }
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
