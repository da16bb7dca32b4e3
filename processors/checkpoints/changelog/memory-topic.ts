import type { ChangelogRead, ChangelogRecord, ChangelogTopic, ReadRecord } from './port.ts'

interface Stored {
  readonly offset: number
  readonly record: ChangelogRecord
}

/**
 * A changelog topic in memory, for tests: records with their offsets per partition, `compact()`
 * as Kafka's log cleaner would leave them at worst (only the newest record of each key, offsets
 * kept; tombstones too, as Kafka keeps them for delete.retention.ms, unless `dropTombstones`), and
 * `failAfter(n)` to play an instance killed after n more records reached the broker: the part of
 * an append that landed stays, the worst case, or with `atomicAppends` none of it (as Kafka's
 * transactions drop it).
 */
export class MemoryChangelogTopic implements ChangelogTopic {
  private readonly logs = new Map<number, { stored: Stored[]; end: number }>()
  private budget = Number.POSITIVE_INFINITY

  constructor(
    readonly name = 'memory.changelog',
    readonly atomicAppends = false,
  ) {}

  async ensure(): Promise<void> {}

  /** Nothing to fence: tests play a writer that lost its partition by failing its appends. */
  async claim(): Promise<void> {}

  async append(partition: number, records: readonly ChangelogRecord[]): Promise<number> {
    const log = this.log(partition)
    const landed: Stored[] = []
    for (const record of records) {
      if (this.budget <= 0) {
        if (!this.atomicAppends) log.stored.push(...landed)
        // Whole or not at all: the offsets it took stay used, as a transaction's do.
        log.end += landed.length
        throw new Error('the instance writing the changelog was killed')
      }
      this.budget -= 1
      landed.push({ offset: log.end + landed.length, record })
    }
    log.stored.push(...landed)
    log.end += landed.length
    return log.end
  }

  async read(partition: number, from: number | undefined, onRecords: (records: readonly ReadRecord[]) => void): Promise<ChangelogRead> {
    const log = this.log(partition)
    const end = log.end
    const records = log.stored.filter((stored) => stored.offset >= (from ?? 0) && stored.offset < end).map((stored) => ({ ...stored.record, offset: stored.offset }))
    for (let start = 0; start < records.length; start += 100) onRecords(records.slice(start, start + 100))
    return { records: records.length, end }
  }

  /** The records a partition holds now, oldest first. */
  records(partition: number): ChangelogRecord[] {
    return this.log(partition).stored.map((stored) => stored.record)
  }

  /** The next append fails after `records` more have landed; undefined lifts the limit. */
  failAfter(records: number | undefined): void {
    this.budget = records ?? Number.POSITIVE_INFINITY
  }

  compact(options: { dropTombstones?: boolean } = {}): void {
    for (const log of this.logs.values()) {
      const newest = new Map<string, number>()
      for (const stored of log.stored) newest.set(stored.record.key, stored.offset)
      const kept = log.stored.filter((stored) => newest.get(stored.record.key) === stored.offset && (stored.record.value !== null || options.dropTombstones !== true))
      log.stored.splice(0, log.stored.length, ...kept)
    }
  }

  private log(partition: number) {
    let log = this.logs.get(partition)
    if (log === undefined) this.logs.set(partition, (log = { stored: [], end: 0 }))
    return log
  }
}
