import type { Stream } from '../../schemas/avro/catalog.ts'
import type { LateReach } from './plan.ts'

export interface ConvergenceSettings {
  /** A range is recomputed once no late record has touched it for this long… */
  readonly quietMs: number
  /** …or once its first late record has waited this long, however many keep coming. */
  readonly maxWaitMs: number
  /** Event time one run covers at most: a flood of history is recomputed in bounded runs. */
  readonly maxRangeMs: number
}

export const DEFAULT_CONVERGENCE: ConvergenceSettings = { quietMs: 5_000, maxWaitMs: 30_000, maxRangeMs: 24 * 3_600_000 }

/** Windows of one stream that late records touched and that wait to be recomputed. */
export interface PendingRange {
  readonly stream: Stream
  fromMs: number
  toMs: number
  lateRecords: number
  /** The earliest event time among its late records. */
  earliestMs: number
  /** The partition keys of its late events (visitors for clicks); undefined when they could be any (too many, or a record without one). */
  keys: Set<string> | undefined
  /** When the first and the newest late record of the range came (processing time). */
  firstAtMs: number
  lastAtMs: number
  /** Per late-topic partition, the lowest offset among its records: nothing from there on is committed until the range is done. */
  readonly firstOffsets: Map<number, number>
}

/**
 * Past this many keys a range stops naming them: a flood of history is recomputed for every key.
 * The names go to ClickHouse as a query parameter, in the URL, which ClickHouse caps at 1 MiB.
 */
export const MAX_NAMED_KEYS = 1_000

/**
 * The debounce of automatic convergence: late records are gathered into ranges of whole windows
 * per stream, merged when they overlap or touch (up to the most a run covers), and a range is due
 * once quiet or once it has waited long enough. Pure: times and offsets are given.
 */
export class PendingRanges {
  private readonly ranges: PendingRange[] = []

  constructor(
    private readonly settings: ConvergenceSettings,
    /** Which windows a late event reaches (plan.ts lateReach): a late record makes all of them pending. */
    private readonly reachOf: (stream: Stream) => LateReach,
  ) {}

  add(stream: Stream, eventTimeMs: number, partition: number, offset: number, nowMs: number, key: string | null = null): void {
    const { alignMs, beforeMs, afterMs } = this.reachOf(stream)
    const fromMs = Math.floor((eventTimeMs - beforeMs) / alignMs) * alignMs
    const toMs = Math.floor((eventTimeMs + afterMs) / alignMs) * alignMs + alignMs
    const range = this.ranges.find((each) => each.stream === stream && each.fromMs <= toMs && fromMs <= each.toMs && Math.max(each.toMs, toMs) - Math.min(each.fromMs, fromMs) <= this.settings.maxRangeMs)
    if (range === undefined) {
      this.ranges.push({ stream, fromMs, toMs, lateRecords: 1, earliestMs: eventTimeMs, keys: key === null ? undefined : new Set([key]), firstAtMs: nowMs, lastAtMs: nowMs, firstOffsets: new Map([[partition, offset]]) })
      return
    }
    range.fromMs = Math.min(range.fromMs, fromMs)
    range.toMs = Math.max(range.toMs, toMs)
    range.earliestMs = Math.min(range.earliestMs, eventTimeMs)
    // A record without a key (written before late records had one) could be anyone's.
    if (key === null) range.keys = undefined
    else range.keys?.add(key)
    if (range.keys !== undefined && range.keys.size > MAX_NAMED_KEYS) range.keys = undefined
    range.lateRecords++
    range.lastAtMs = nowMs
    range.firstOffsets.set(partition, Math.min(range.firstOffsets.get(partition) ?? offset, offset))
  }

  /** The range that has waited longest among those due, taken out; undefined when none is. */
  takeDue(nowMs: number): PendingRange | undefined {
    let chosen = -1
    for (const [index, range] of this.ranges.entries()) {
      const due = nowMs - range.lastAtMs >= this.settings.quietMs || nowMs - range.firstAtMs >= this.settings.maxWaitMs
      if (due && (chosen < 0 || range.firstAtMs < this.ranges[chosen]!.firstAtMs)) chosen = index
    }
    return chosen < 0 ? undefined : this.ranges.splice(chosen, 1)[0]
  }

  /** A range whose run failed waits again, as if its records had just come: a store that is down is not hammered. */
  putBack(range: PendingRange, nowMs: number): void {
    this.ranges.push({ ...range, firstAtMs: nowMs, lastAtMs: nowMs })
  }

  get list(): readonly PendingRange[] {
    return this.ranges
  }

  /** Per late-topic partition, the offset below which every record's range is recomputed (`next` where none waits). */
  committable(next: ReadonlyMap<number, number>, running?: PendingRange): Map<number, number> {
    const offsets = new Map(next)
    for (const range of running === undefined ? this.ranges : [...this.ranges, running]) {
      for (const [partition, offset] of range.firstOffsets) offsets.set(partition, Math.min(offsets.get(partition) ?? offset, offset))
    }
    return offsets
  }
}
