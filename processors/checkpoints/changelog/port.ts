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

/** A record as read back, with its place in the partition. */
export interface ReadRecord extends ChangelogRecord {
  readonly offset: number
}

export interface ChangelogTopic {
  readonly name: string
  /**
   * Whether an append lands whole or not at all for every reader (Kafka: one transaction, read
   * committed). Then a checkpoint's records carry no previous values and its deletions are
   * tombstones in the same append: no reader can see half of it, so none has to be rolled back.
   * Otherwise records.ts's protocol makes a half-written checkpoint harmless on its own.
   */
  readonly atomicAppends: boolean
  /** Creates the topic (compacted, `partitions` of them) if it does not exist yet. */
  ensure(partitions: number): Promise<void>
  /**
   * Makes this instance the partition's only writer, before it restores from it: an instance
   * that wrote it before (one that lost the partition and does not know yet) can append nothing
   * more, and what it had not finished appending is dropped.
   */
  claim(partition: number): Promise<void>
  /**
   * Appends in order; resolves once every record is durable (acknowledged by the in-sync replicas) with an offset after
   * them, at or before the next record's. Fails once another instance claimed the partition. On
   * Kafka an append is one transaction, all of it or none; the records' protocol (records.ts)
   * does not rely on that.
   */
  append(partition: number, records: readonly ChangelogRecord[]): Promise<number>
  /**
   * Every record of the partition from offset `from` (its first retained offset when undefined or
   * before it) to its end as it was when the read began, in order, in pieces of a few thousand
   * (`onRecords`). Resolves with how many, and that end (the offset of the next record).
   */
  read(partition: number, from: number | undefined, onRecords: (records: readonly ReadRecord[]) => void): Promise<ChangelogRead>
}

export interface ChangelogRead {
  readonly records: number
  readonly end: number
}

/** A job's changelog topic, named as Kafka Streams names its own: `<prefix>.<job>.changelog`. */
export const changelogTopic = (prefix: string, job: string): string => `${prefix}.${job}.changelog`

/**
 * This instance's writer of a changelog partition was fenced: another instance claimed the
 * partition (the group moved it), so this one must let the partition go rather than take it back.
 */
export class ChangelogClaimedError extends Error {
  override readonly name = 'ChangelogClaimedError'

  constructor(readonly topic: string, readonly partition: number, options?: { cause?: unknown }) {
    super(`changelog ${topic}[${partition}] was claimed by another instance: the partition moved`, options)
  }
}
