import { ByteReader, ByteWriter, compareStrings } from '../state/bytes.ts'

/**
 * Space-saving heavy hitters (Metwally et al. 2005) with `capacity` counters. When full, the
 * counter with the smallest count is replaced; ties are broken by the greatest item string, so
 * the choice depends only on the counters' contents and never on Map insertion order — a
 * restored sketch evicts exactly what the original would have.
 */

export interface TopItem {
  readonly item: string
  readonly count: number
  /** Upper bound on how much of `count` may belong to evicted items. */
  readonly error: number
}

interface Counter {
  count: number
  error: number
}

export class SpaceSaving {
  private readonly counters = new Map<string, Counter>()

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('top-k capacity must be a positive integer')
  }

  add(item: string, weight = 1): void {
    const existing = this.counters.get(item)
    if (existing !== undefined) {
      existing.count += weight
      return
    }
    if (this.counters.size < this.capacity) {
      this.counters.set(item, { count: weight, error: 0 })
      return
    }
    let victim = ''
    let victimCounter: Counter | undefined
    for (const [candidate, counter] of this.counters) {
      if (
        victimCounter === undefined ||
        counter.count < victimCounter.count ||
        (counter.count === victimCounter.count && candidate > victim)
      ) {
        victim = candidate
        victimCounter = counter
      }
    }
    const floor = (victimCounter as Counter).count
    this.counters.delete(victim)
    this.counters.set(item, { count: floor + weight, error: floor })
  }

  /** Merge by re-adding the other sketch's counters in a canonical order (count desc, item asc). */
  merge(other: SpaceSaving): void {
    for (const entry of other.top(other.capacity)) {
      const existing = this.counters.get(entry.item)
      if (existing !== undefined) {
        existing.count += entry.count
        existing.error += entry.error
      } else {
        this.add(entry.item, entry.count)
        const added = this.counters.get(entry.item)
        if (added !== undefined) added.error += entry.error
      }
    }
  }

  top(limit: number): TopItem[] {
    const items: TopItem[] = []
    for (const [item, counter] of this.counters) items.push({ item, count: counter.count, error: counter.error })
    items.sort((left, right) => right.count - left.count || compareStrings(left.item, right.item))
    return items.slice(0, limit)
  }

  bytes(): number {
    return 64 + this.counters.size * 96
  }

  serialize(writer: ByteWriter): void {
    writer.u32(this.capacity)
    const items = [...this.counters.keys()].sort(compareStrings)
    writer.u32(items.length)
    for (const item of items) {
      const counter = this.counters.get(item) as Counter
      writer.string(item)
      writer.f64(counter.count)
      writer.f64(counter.error)
    }
  }

  static deserialize(reader: ByteReader): SpaceSaving {
    const sketch = new SpaceSaving(reader.u32())
    for (let remaining = reader.u32(); remaining > 0; remaining--) {
      const item = reader.string()
      sketch.counters.set(item, { count: reader.f64(), error: reader.f64() })
    }
    return sketch
  }
}
