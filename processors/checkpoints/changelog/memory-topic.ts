import type { ChangelogRecord, ChangelogTopic } from './port.ts'

/**
 * A changelog topic in memory, for tests: records in append order per partition, `compact()`
 * as Kafka's log cleaner would leave them at worst (only the newest record of each key, tombstones
 * gone), and `failAfter(n)` to play an instance killed after n more records reached the broker.
 */
export class MemoryChangelogTopic implements ChangelogTopic {
  readonly partitions = new Map<number, ChangelogRecord[]>()
  private budget = Number.POSITIVE_INFINITY

  constructor(readonly name = 'memory.changelog') {}

  async ensure(): Promise<void> {}

  async append(partition: number, records: readonly ChangelogRecord[]): Promise<void> {
    const log = this.log(partition)
    for (const record of records) {
      if (this.budget <= 0) throw new Error('the instance writing the changelog was killed')
      this.budget -= 1
      log.push(record)
    }
  }

  async read(partition: number, onRecords: (records: readonly ChangelogRecord[]) => void): Promise<number> {
    const log = [...this.log(partition)]
    for (let start = 0; start < log.length; start += 100) onRecords(log.slice(start, start + 100))
    return log.length
  }

  /** The next append fails after `records` more have landed; undefined lifts the limit. */
  failAfter(records: number | undefined): void {
    this.budget = records ?? Number.POSITIVE_INFINITY
  }

  compact(): void {
    for (const [partition, log] of this.partitions) {
      const newest = new Map<string, number>()
      log.forEach((record, index) => newest.set(record.key, index))
      this.partitions.set(partition, log.filter((record, index) => newest.get(record.key) === index && record.value !== null))
    }
  }

  private log(partition: number): ChangelogRecord[] {
    let log = this.partitions.get(partition)
    if (log === undefined) this.partitions.set(partition, (log = []))
    return log
  }
}
