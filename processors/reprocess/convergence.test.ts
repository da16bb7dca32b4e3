import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { Batch, BatchHandler, Consumer, TopicPartitionOffset } from '../../core/bus/port.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import { Convergence } from './convergence.ts'

const HOUR = 3_600_000
const T = Date.UTC(2026, 11, 1, 10)

/** A consumer of one late-topic partition that hands over the batches a test gives it and records commits. */
class GivenConsumer implements Consumer {
  handler: BatchHandler | undefined
  readonly commits: number[] = []
  private finish: (() => void) | undefined
  run(handler: BatchHandler): Promise<void> {
    this.handler = handler
    return new Promise((resolve) => (this.finish = resolve))
  }
  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const { offset } of offsets) this.commits.push(offset)
  }
  seek(): void {}
  pause(): void {}
  resume(): void {}
  assignment() {
    return [{ topic: 'eddy.late', partition: 0 }]
  }
  async stop(): Promise<void> {
    this.finish?.()
  }
}

function batch(records: Array<{ offset: number; ts: number; job?: string; key?: string }>): Batch {
  return {
    topic: 'eddy.late', partition: 0, highWatermark: records.at(-1)!.offset + 1,
    records: records.map(({ offset, ts, job, key }) => ({ topic: 'eddy.late', partition: 0, offset, key: key ?? null, value: Buffer.alloc(0), timestamp: ts, headers: (job ? { 'eddy.late.job': job } : {}) as Record<string, string> })),
  }
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  expect(condition()).toBe(true)
}

describe('Convergence', () => {
  it('recomputes the windows of late records and commits them only once they are done, again after a failure', async () => {
    const consumer = new GivenConsumer()
    const runs: Array<{ stream: Stream; fromMs: number; toMs: number; earliestMs: number; keys: string[] }> = []
    let fail = true
    const convergence = new Convergence({
      settings: { quietMs: 0, maxWaitMs: 0, maxRangeMs: 24 * HOUR },
      reachOf: () => ({ alignMs: HOUR, beforeMs: 0, afterMs: 0 }),
      consumer,
      topic: 'eddy.late',
      streamOf: (job) => (job === 'clickstream' ? 'click' : job === 'logs' ? 'log' : undefined),
      oldestMs: () => T - 24 * HOUR,
      reprocess: async ({ stream, fromMs, toMs, earliestMs, keys }) => {
        runs.push({ stream, fromMs, toMs, earliestMs, keys: [...(keys ?? [])] })
        // The first attempt fails before any commit could have covered its records.
        expect(consumer.commits.every((offset) => offset <= 1)).toBe(true)
        if (fail) {
          fail = false
          throw new Error('ClickHouse is away')
        }
        return { generation: 1, resumed: false, streams: { [stream]: { slices: 1, events: 3, rows: 2, tombstones: 0, stillOpen: 0, incomplete: 0, notCounted: 0, emptySlices: 0 } } }
      },
      clock: Date.now,
      logger: pino({ level: 'silent' }),
    })
    convergence.start()
    await until(() => consumer.handler !== undefined)
    await consumer.handler!(batch([
      { offset: 0, ts: T - 48 * HOUR, job: 'clickstream' }, // past the retention: nothing to recompute from
      { offset: 1, ts: T + 10 * 60_000, job: 'clickstream', key: 'visitor-a' },
      { offset: 2, ts: T + 70 * 60_000, job: 'clickstream', key: 'visitor-b' },
      { offset: 3, ts: T + 5 * 60_000, job: 'unknown' },
    ]))
    await until(() => convergence.status().runs === 1)
    await until(() => consumer.commits.at(-1) === 4)
    await convergence.stop()

    const run = { stream: 'click', fromMs: T, toMs: T + 2 * HOUR, earliestMs: T + 10 * 60_000, keys: ['visitor-a', 'visitor-b'] }
    expect(runs).toEqual([run, run])
    expect(convergence.status()).toMatchObject({ pending: [], runs: 1, failures: 1, lastRun: { stream: 'click', lateRecords: 2, rows: 2 } })
  })
})
