/**
 * Group commit, bus-wide. Every send() issued while a flush cycle runs (or within the same tick)
 * joins the next cycle. A cycle writes each touched partition file once, then fdatasyncs them all
 * together, then resolves every send() whose records are now durable. Aligning the fsyncs lets
 * the filesystem fold their journal commits into one; batches grow with fsync latency, which keeps
 * throughput high without per-record syscalls or per-record promises.
 */
import type { ProduceRecord, RecordMetadata } from '../port.ts'
import { appendError } from './errors.ts'
import type { Partition, WrittenBatch } from './partition.ts'

/** One send() call: settles once all its partition chunks are durable, or on the first failure. */
export class SendTicket {
  readonly results: RecordMetadata[]
  readonly promise: Promise<RecordMetadata[]>
  remaining = 0
  private resolve!: (results: RecordMetadata[]) => void
  private reject!: (error: unknown) => void
  private settled = false

  constructor(size: number) {
    this.results = new Array<RecordMetadata>(size)
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  chunkDone(): void {
    if (--this.remaining === 0 && !this.settled) {
      this.settled = true
      this.resolve(this.results)
    }
  }

  fail(error: unknown): void {
    if (this.settled) return
    this.settled = true
    this.reject(error)
  }
}

export interface Chunk {
  readonly records: ProduceRecord[]
  /** Index of each record in the send() call, to place its metadata. */
  readonly positions: number[]
  readonly ticket: SendTicket
}

export interface CommitHooks {
  readonly clock: () => number
  readonly onDurable: (partition: Partition) => void
  readonly onFailed: (partition: Partition, error: unknown) => void
}

export class GroupCommit {
  private pending = new Map<Partition, Chunk[]>()
  private running: Promise<void> | undefined

  constructor(private readonly hooks: CommitHooks) {}

  push(partition: Partition, chunk: Chunk): void {
    const chunks = this.pending.get(partition)
    if (chunks === undefined) this.pending.set(partition, [chunk])
    else chunks.push(chunk)
    this.running ??= this.run()
  }

  /** Resolves once everything queued so far has been flushed (or failed). */
  async drain(): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  private async run(): Promise<void> {
    // Yield once so every send() issued in this tick shares the first cycle.
    await new Promise<void>((resolve) => setImmediate(resolve))
    while (this.pending.size > 0) {
      const cycle = this.pending
      this.pending = new Map()
      await this.flush(cycle)
    }
    this.running = undefined
  }

  private async flush(cycle: Map<Partition, Chunk[]>): Promise<void> {
    const now = this.hooks.clock()
    const written = await Promise.all(
      [...cycle].map(async ([partition, chunks]) => {
        try {
          return { partition, chunks, batch: await partition.write(chunks.map((chunk) => chunk.records), now) }
        } catch (error) {
          this.fail(partition, chunks, error)
          return undefined
        }
      }),
    )
    await Promise.all(written.map((entry) => entry !== undefined && this.sync(entry.partition, entry.chunks, entry.batch)))
  }

  private async sync(partition: Partition, chunks: Chunk[], batch: WrittenBatch): Promise<void> {
    let offset: number
    try {
      offset = await partition.sync(batch)
    } catch (error) {
      this.fail(partition, chunks, error)
      return
    }
    this.hooks.onDurable(partition)
    const { topic, id } = partition
    for (const chunk of chunks) {
      const { results } = chunk.ticket
      for (const position of chunk.positions) results[position] = { topic, partition: id, offset: offset++ }
      chunk.ticket.chunkDone()
    }
  }

  private fail(partition: Partition, chunks: Chunk[], error: unknown): void {
    const failure = appendError(error, `${partition.topic}/${partition.id}`)
    for (const chunk of chunks) chunk.ticket.fail(failure)
    this.hooks.onFailed(partition, error)
  }
}
