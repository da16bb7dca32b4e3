/**
 * A job's changelog on Kafka: one compacted topic (`<prefix>.<job>.changelog`) with a partition
 * per input partition, written only by the partition's owner. Compaction keeps the newest record
 * of every key, so the topic holds about as much as the state itself, and any instance rebuilds a
 * partition's state by reading its changelog partition from the start.
 */
export interface ChangelogRecord {
  readonly key: string
  /** null is a tombstone: compaction then forgets the key altogether. */
  readonly value: Uint8Array | null
}

export interface ChangelogTopic {
  readonly name: string
  /** Creates the topic (compacted, `partitions` of them) if it does not exist yet. */
  ensure(partitions: number): Promise<void>
  /** Appends in order; resolves once every record is durable (acknowledged by the in-sync replicas). */
  append(partition: number, records: readonly ChangelogRecord[]): Promise<void>
  /**
   * Every record of the partition from its first retained offset to its end as it was when the
   * read began, in order, in pieces of a few thousand (`onRecords`). Resolves with how many.
   */
  read(partition: number, onRecords: (records: readonly ChangelogRecord[]) => void): Promise<number>
}

/** A job's changelog topic, named as Kafka Streams names its own: `<prefix>.<job>.changelog`. */
export const changelogTopic = (prefix: string, job: string): string => `${prefix}.${job}.changelog`
