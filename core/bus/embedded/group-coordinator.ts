/**
 * In-process consumer groups. A rebalance runs in two phases, one rebalance at a time per group:
 * first every member hands back the partitions it loses (waiting for its in-flight batch and its
 * onRevoked), then members take the partitions they gain. A partition is therefore never handled
 * by two members at once, and partitions that stay put keep flowing (Kafka's cooperative protocol
 * gives the same guarantee).
 */
import type { Logger } from 'pino'
import type { TopicPartition } from '../port.ts'
import { partitionKey, rangeAssign } from './assignment.ts'

export interface GroupMember {
  readonly memberId: string
  readonly topics: readonly string[]
  /** Stops fetching these partitions, waits for the batch in flight, then calls onRevoked. */
  revoke(partitions: readonly TopicPartition[]): Promise<void>
  /** Calls onAssigned, then starts fetching these partitions. */
  assign(partitions: readonly TopicPartition[]): Promise<void>
}

export class ConsumerGroup {
  private readonly members: GroupMember[] = []
  private readonly owned = new Map<GroupMember, TopicPartition[]>()
  private queue: Promise<void> = Promise.resolve()
  private sequence = 0

  constructor(
    readonly groupId: string,
    private readonly partitionCount: (topic: string) => number,
    private readonly logger: Logger,
  ) {}

  /** A member id that sorts in join order, so the longest-standing members keep the first ranges. */
  nextMemberId(): string {
    return `${this.groupId}-${String(this.sequence++).padStart(8, '0')}`
  }

  join(member: GroupMember): Promise<void> {
    this.members.push(member)
    return this.rebalance()
  }

  leave(member: GroupMember): Promise<void> {
    const index = this.members.indexOf(member)
    if (index >= 0) this.members.splice(index, 1)
    return this.rebalance()
  }

  private rebalance(): Promise<void> {
    this.queue = this.queue.then(() =>
      this.runRebalance().catch((error: unknown) => this.logger.error({ err: error, groupId: this.groupId }, 'rebalance failed')),
    )
    return this.queue
  }

  private async runRebalance(): Promise<void> {
    const target = rangeAssign(this.members, this.partitionCount)
    const targetKeys = new Map<GroupMember, Set<string>>()
    for (const member of this.members) {
      targetKeys.set(member, new Set((target.get(member.memberId) ?? []).map((tp) => partitionKey(tp.topic, tp.partition))))
    }
    const involved = new Set([...this.owned.keys(), ...this.members])
    await Promise.all(
      [...involved].map((member) => {
        const keep = targetKeys.get(member) ?? new Set<string>()
        const lost = (this.owned.get(member) ?? []).filter((tp) => !keep.has(partitionKey(tp.topic, tp.partition)))
        return lost.length > 0 ? member.revoke(lost) : undefined
      }),
    )
    await Promise.all(
      this.members.map((member) => {
        const had = new Set((this.owned.get(member) ?? []).map((tp) => partitionKey(tp.topic, tp.partition)))
        const gained = (target.get(member.memberId) ?? []).filter((tp) => !had.has(partitionKey(tp.topic, tp.partition)))
        return gained.length > 0 ? member.assign(gained) : undefined
      }),
    )
    this.owned.clear()
    for (const member of this.members) this.owned.set(member, target.get(member.memberId) ?? [])
    this.logger.debug(
      { groupId: this.groupId, members: this.members.map((member) => member.memberId) },
      'consumer group rebalanced',
    )
  }
}

export class GroupCoordinator {
  private readonly groups = new Map<string, ConsumerGroup>()

  constructor(
    private readonly partitionCount: (topic: string) => number,
    private readonly logger: Logger,
  ) {}

  group(groupId: string): ConsumerGroup {
    let group = this.groups.get(groupId)
    if (group === undefined) {
      group = new ConsumerGroup(groupId, this.partitionCount, this.logger)
      this.groups.set(groupId, group)
    }
    return group
  }
}
