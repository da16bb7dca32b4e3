/**
 * Where each record goes, decided here rather than by @platformatic/kafka: its default partitioner
 * takes murmur2 `>>> 0` where Kafka's Java client (and kafkajs, and the embedded log) mask the sign
 * bit, so about half of all keys would land elsewhere; and its murmur2 runs on BigInt. Choosing the
 * partition before the send also tells each caller its record's partition without asking again.
 */
import { murmur2, toPositive } from '../embedded/murmur2.ts'

export class PartitionChooser {
  private readonly next = new Map<string, number>()

  /** Keyed: murmur2 of the UTF-8 key as Java's `Utils.toPositive(murmur2) % n`. Keyless: round-robin per topic. */
  choose(topic: string, key: Buffer | undefined, partitions: number): number {
    if (key !== undefined) return toPositive(murmur2(key)) % partitions
    const turn = this.next.get(topic) ?? 0
    this.next.set(topic, turn + 1)
    return turn % partitions
  }
}
