/**
 * Kafka's RangeAssignor: per topic, members subscribed to it in member-id order each take a
 * contiguous range of partitions, the first `partitions % members` taking one extra.
 */
import type { TopicPartition } from '../port.ts'

export interface Subscription {
  readonly memberId: string
  readonly topics: readonly string[]
}

export function rangeAssign(
  members: readonly Subscription[],
  partitionCount: (topic: string) => number,
): Map<string, TopicPartition[]> {
  const assignment = new Map<string, TopicPartition[]>()
  for (const member of members) assignment.set(member.memberId, [])
  const topics = [...new Set(members.flatMap((member) => member.topics))].sort()
  for (const topic of topics) {
    const subscribers = members
      .filter((member) => member.topics.includes(topic))
      .map((member) => member.memberId)
      .sort()
    const partitions = partitionCount(topic)
    const each = Math.floor(partitions / subscribers.length)
    const extra = partitions % subscribers.length
    subscribers.forEach((memberId, i) => {
      const start = i * each + Math.min(i, extra)
      const count = each + (i < extra ? 1 : 0)
      const owned = assignment.get(memberId)!
      for (let partition = start; partition < start + count; partition++) owned.push({ topic, partition })
    })
  }
  return assignment
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
