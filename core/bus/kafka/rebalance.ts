/**
 * Maps kafkajs' group membership onto the port's rebalance listener.
 *
 * kafkajs speaks the eager ("classic") group protocol and has no revoke callback: it only emits
 * GROUP_JOIN after a (re)join, with the new assignment. By then the other members may already
 * fetch the partitions this member lost, so onRevoked here runs *after* the partitions moved,
 * not before as on the Java client. Two things keep that safe for at-least-once delivery:
 * no batch is in flight at that moment (kafkajs finishes every handler before it rejoins), and a
 * commit made from onRevoked only ever names offsets this member has processed, so at worst it
 * moves the successor's offset back and some records are delivered twice.
 *
 * kafkajs also restarts every partition it keeps from its committed offset after a rejoin, so
 * a rebalance is reported like the eager protocol defines it: everything owned is revoked, then
 * the whole new assignment is assigned. stop() is the exception where onRevoked truly runs before
 * the partitions move: the member leaves the group only after it returned.
 */
import type { Logger } from 'pino'
import type { RebalanceListener, TopicPartition } from '../port.ts'

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export class Rebalances {
  private readonly owned = new Map<string, TopicPartition>()
  private chain: Promise<void> = Promise.resolve()
  private closed = false

  constructor(
    private readonly listener: RebalanceListener | undefined,
    private readonly logger: Logger,
  ) {}

  assignment(): TopicPartition[] {
    return [...this.owned.values()]
  }

  owns(topic: string, partition: number): boolean {
    return this.owned.has(key(topic, partition))
  }

  /** Resolves once every listener call queued so far has returned (batches wait for this). */
  settled(): Promise<void> {
    return this.chain
  }

  /** kafkajs' GROUP_JOIN: the member (re)joined with this assignment. */
  joined(memberAssignment: Readonly<Record<string, readonly number[]>>): void {
    const assigned = Object.entries(memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })))
    this.enqueue(async () => {
      if (this.closed) return
      await this.revokeOwned()
      for (const tp of assigned) this.owned.set(key(tp.topic, tp.partition), tp)
      if (assigned.length > 0) await this.call('onAssigned', assigned)
      this.logger.debug({ partitions: assigned }, 'partitions assigned')
    })
  }

  /** Revokes everything (stop); later joins are ignored, the member is leaving. */
  close(): Promise<void> {
    this.enqueue(async () => {
      this.closed = true
      await this.revokeOwned()
    })
    return this.chain
  }

  private async revokeOwned(): Promise<void> {
    const revoked = this.assignment()
    if (revoked.length === 0) return
    // Still owned while the listener runs, so it may commit them; gone once it returned.
    await this.call('onRevoked', revoked)
    this.owned.clear()
    this.logger.debug({ partitions: revoked }, 'partitions revoked')
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step)
  }

  private async call(name: 'onAssigned' | 'onRevoked', partitions: readonly TopicPartition[]): Promise<void> {
    try {
      await this.listener?.[name]?.(partitions)
    } catch (error) {
      this.logger.error({ err: error, partitions }, `${name} failed`)
    }
  }
}
