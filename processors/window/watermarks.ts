import { ByteReader, ByteWriter, compareStrings } from '../state/bytes.ts'
import type { PartitionId } from './types.ts'

/**
 * Event-time progress across input partitions.
 *
 * A partition's watermark is its max event time minus the bounded out-of-orderness. The operator
 * watermark is the min over active partitions, clamped so it never goes backwards. A partition
 * with no data for `idleTimeoutMs` of processing time stops holding it back and rejoins on its next
 * data (the clamp means rejoining never moves the watermark back). If every partition is idle, the
 * watermark moves to the most advanced one, so the last windows of a quiet stream still close.
 * A partition first seen through an empty batch holds the watermark at -Infinity until it sends
 * data or goes idle: that is how a job declares partitions it owns but has not heard from yet.
 */

export interface PartitionClock {
  readonly id: string
  maxEventTime: number
  lastActivityMs: number
  idle: boolean
}

export class WatermarkTracker {
  private readonly partitions = new Map<string, PartitionClock>()
  /** The same partitions as an array: recompute runs per advancing event and must not allocate. */
  private readonly ordered: PartitionClock[] = []
  private current = -Infinity
  /** Min of the active partitions' watermarks before clamping; Infinity when none are active. */
  private floor = Infinity
  private clock = -Infinity
  private ended = false

  constructor(
    private readonly outOfOrdernessMs: number,
    private readonly idleTimeoutMs: number,
  ) {}

  get watermark(): number {
    return this.current
  }

  get now(): number {
    return this.clock
  }

  /** Advances processing time and re-evaluates idleness; true if the watermark moved. */
  tick(nowMs: number): boolean {
    if (nowMs > this.clock) this.clock = nowMs
    let changed = false
    for (const partition of this.ordered) {
      if (!partition.idle && this.clock - partition.lastActivityMs >= this.idleTimeoutMs) {
        partition.idle = true
        changed = true
      }
    }
    return changed ? this.recompute() : false
  }

  /** The partition about to deliver a batch; `hasData` marks activity (and rejoins an idle one). */
  activate(id: PartitionId, hasData: boolean): PartitionClock {
    const name = String(id)
    let partition = this.partitions.get(name)
    if (partition === undefined) {
      partition = { id: name, maxEventTime: -Infinity, lastActivityMs: this.clock, idle: false }
      this.partitions.set(name, partition)
      this.ordered.push(partition)
      this.recompute()
    }
    if (hasData) {
      partition.lastActivityMs = this.clock
      if (partition.idle) {
        partition.idle = false
        this.recompute()
      }
    }
    return partition
  }

  /** Records an event time from an active partition; true if the operator watermark moved. */
  observe(partition: PartitionClock, eventTime: number): boolean {
    if (eventTime <= partition.maxEventTime) return false
    const before = partition.maxEventTime - this.outOfOrdernessMs
    partition.maxEventTime = eventTime
    // Raising a partition that was strictly above the floor cannot change the minimum.
    if (before > this.floor) return false
    return this.recompute()
  }

  /** End of a bounded input: everything still open is complete. */
  end(): boolean {
    if (this.ended) return false
    this.ended = true
    return this.recompute()
  }

  private recompute(): boolean {
    let floor = Infinity
    let highest = -Infinity
    const partitions = this.ordered
    for (let index = 0; index < partitions.length; index++) {
      const partition = partitions[index] as PartitionClock
      const watermark = partition.maxEventTime - this.outOfOrdernessMs
      if (watermark > highest) highest = watermark
      if (!partition.idle && watermark < floor) floor = watermark
    }
    this.floor = floor
    const candidate = this.ended ? Infinity : floor === Infinity ? highest : floor
    if (candidate > this.current) {
      this.current = candidate
      return true
    }
    return false
  }

  snapshot(writer: ByteWriter): void {
    writer.f64(this.current)
    writer.f64(this.clock)
    writer.bool(this.ended)
    const names = [...this.partitions.keys()].sort(compareStrings)
    writer.u32(names.length)
    for (const name of names) {
      const partition = this.partitions.get(name) as PartitionClock
      writer.string(name)
      writer.f64(partition.maxEventTime)
      writer.f64(partition.lastActivityMs)
      writer.bool(partition.idle)
    }
  }

  restore(reader: ByteReader): void {
    this.partitions.clear()
    this.ordered.length = 0
    this.current = reader.f64()
    this.clock = reader.f64()
    this.ended = reader.bool()
    for (let remaining = reader.u32(); remaining > 0; remaining--) {
      const id = reader.string()
      const partition = { id, maxEventTime: reader.f64(), lastActivityMs: reader.f64(), idle: reader.bool() }
      this.partitions.set(id, partition)
      this.ordered.push(partition)
    }
    // Recomputing only refreshes the floor: the restored watermark is already the clamp.
    this.recompute()
  }

  partitionStates(): readonly PartitionClock[] {
    return [...this.partitions.values()].sort((left, right) => compareStrings(left.id, right.id))
  }
}
