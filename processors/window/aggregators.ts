import { compareStrings, type ByteReader, type ByteWriter } from '../state/bytes.ts'
import type { Aggregator } from './types.ts'

/** Built-in aggregators with fixed-size number accumulators; sketches live in sketch-aggregators.ts. */

function numberBytes(value: number, writer: ByteWriter): void {
  writer.f64(value)
}

function bytesNumber(reader: ByteReader): number {
  return reader.f64()
}

export function count<In>(): Aggregator<In, number, number> {
  return {
    kind: 'count',
    create: () => 0,
    add: (total) => total + 1,
    merge: (into, from) => into + from,
    result: (total) => total,
    serialize: numberBytes,
    deserialize: bytesNumber,
  }
}

export function sum<In>(value: (event: In) => number): Aggregator<In, number, number> {
  return {
    kind: 'sum',
    create: () => 0,
    add: (total, event) => total + value(event),
    merge: (into, from) => into + from,
    result: (total) => total,
    serialize: numberBytes,
    deserialize: bytesNumber,
  }
}

/** Empty windows never exist, so ±Infinity only shows if every value was ±Infinity. */
export function min<In>(value: (event: In) => number): Aggregator<In, number, number> {
  return {
    kind: 'min',
    create: () => Infinity,
    add: (least, event) => Math.min(least, value(event)),
    merge: (into, from) => Math.min(into, from),
    result: (least) => least,
    serialize: numberBytes,
    deserialize: bytesNumber,
  }
}

export function max<In>(value: (event: In) => number): Aggregator<In, number, number> {
  return {
    kind: 'max',
    create: () => -Infinity,
    add: (most, event) => Math.max(most, value(event)),
    merge: (into, from) => Math.max(into, from),
    result: (most) => most,
    serialize: numberBytes,
    deserialize: bytesNumber,
  }
}

interface Mean {
  total: number
  count: number
}

export function avg<In>(value: (event: In) => number): Aggregator<In, Mean, number> {
  return {
    kind: 'avg',
    create: () => ({ total: 0, count: 0 }),
    add: (mean, event) => {
      mean.total += value(event)
      mean.count++
      return mean
    },
    merge: (into, from) => {
      into.total += from.total
      into.count += from.count
      return into
    },
    result: (mean) => (mean.count === 0 ? 0 : mean.total / mean.count),
    serialize: (mean, writer) => {
      writer.f64(mean.total)
      writer.f64(mean.count)
    },
    deserialize: (reader) => ({ total: reader.f64(), count: reader.f64() }),
  }
}

/**
 * Exact distinct count of string values. Variable-size (it reports `bytes`), so the operator's
 * state bound covers it. Values are serialised sorted so snapshots do not depend on Set order.
 */
/** An exact set, and what was added since it was last written (null until it first is). */
export interface DistinctItems {
  readonly items: Set<string>
  added: string[] | null
}

export function distinct<In>(value: (event: In) => string): Aggregator<In, DistinctItems, number> {
  const include = (seen: DistinctItems, item: string) => {
    const before = seen.items.size
    seen.items.add(item)
    if (seen.added !== null && seen.items.size !== before) seen.added.push(item)
  }
  return {
    kind: 'distinct',
    create: () => ({ items: new Set<string>(), added: null }),
    add: (seen, event) => {
      include(seen, value(event))
      return seen
    },
    merge: (into, from) => {
      for (const item of from.items) include(into, item)
      return into
    },
    result: (seen) => seen.items.size,
    serialize: (seen, writer) => {
      const items = [...seen.items].sort(compareStrings)
      writer.u32(items.length)
      for (const item of items) writer.string(item)
      seen.added = []
    },
    deserialize: (reader) => {
      const items = new Set<string>()
      for (let remaining = reader.u32(); remaining > 0; remaining--) items.add(reader.string())
      return { items, added: [] }
    },
    // ~48 bytes per Set entry plus the string; sized by count only, to stay cheap per event.
    bytes: (seen) => 64 + seen.items.size * 80,
    changes: {
      write: (seen, writer) => {
        const added = seen.added ?? []
        writer.u32(added.length)
        for (const item of added) writer.string(item)
        seen.added = []
      },
      apply: (seen, reader) => {
        for (let remaining = reader.u32(); remaining > 0; remaining--) seen.items.add(reader.string())
        return seen
      },
    },
  }
}
