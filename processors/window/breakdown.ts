import { compareStrings, SnapshotFormatError, type ByteReader, type ByteWriter } from '../state/bytes.ts'
import { MAP_ENTRY_BYTES, objectBytes, stringBytes } from '../state/heap-size.ts'
import type { Aggregator, FiringTiming } from './types.ts'
import { revisionOf } from './window-state.ts'

/**
 * Counts and exact distinct counts per (dimension, value) inside one window state: the per-minute
 * "pageviews and visitors by path, by browser, by country…" of a project as one accumulator.
 *
 * The same numbers could come from one window state per (dimension, value), and did: every
 * pageview then became nine keyed events, nine joined key strings to hash and nine trips through
 * watermarks, lateness checks and state bookkeeping, about half of the clickstream job's time.
 * Here the window machinery runs once per event and each dimension costs a Map lookup on a value
 * string the event already holds.
 *
 * Each entry still becomes a row of its own, revisioned as if it had been a window state: the
 * revision follows the entry's own count (see window-state.ts), and early and late firings carry
 * only the entries that changed since their last row, as separate states would have.
 */

export interface BreakdownEntry {
  /** Index into the dimensions the aggregator was made with. */
  readonly dimension: number
  readonly value: string
  readonly count: number
  readonly distinct: number
  readonly revision: number
}

interface Cell {
  count: number
  readonly distinct: Set<string>
  /** Changed since this entry's last row. */
  dirty: boolean
  /** Items added since the breakdown was last written, once it has been (null before). */
  added: string[] | null
  /** In the breakdown's unsaved list. */
  unsaved: boolean
}

export interface Breakdown {
  readonly byDimension: Map<string, Cell>[]
  /** Entries changed since the last result; keeps an early firing from scanning every entry. */
  changed: Array<[number, string, Cell]>
  bytes: number
  /**
   * Entries changed since the breakdown was last written, once it has been (null before): what a
   * checkpoint of its open window writes, rather than every entry and visitor again.
   */
  unsaved: Array<[number, string, Cell]> | null
}

export interface BreakdownSpec<In> {
  readonly dimensions: readonly string[]
  /** The event's value in every dimension, written into `values` (one slot per dimension). */
  readonly values: (event: In, values: string[]) => void
  /** What is counted distinctly (a visitor). */
  readonly distinct: (event: In) => string
}

// Heap estimates, in the style of heap-size.ts: the Map entry, the cell object, its Set.
const CELL_BYTES = MAP_ENTRY_BYTES + objectBytes(3) + 64
const SET_ENTRY_BYTES = 80
const EMPTY_BYTES = objectBytes(3) + 64

export function dimensionBreakdown<In>(spec: BreakdownSpec<In>): Aggregator<In, Breakdown, BreakdownEntry[]> {
  const dimensions = spec.dimensions.length
  const values: string[] = new Array<string>(dimensions).fill('')
  // Rows are ordered by dimension name, then value: the order of the keys "dimension\tvalue" the
  // entries once were, so a firing's rows come out as they always did.
  const nameOrder = spec.dimensions.map((name) => spec.dimensions.filter((other) => compareStrings(other, name) < 0).length)
  const compareEntries = (left: BreakdownEntry, right: BreakdownEntry) => nameOrder[left.dimension]! - nameOrder[right.dimension]! || compareStrings(left.value, right.value)
  const create = (): Breakdown => ({ byDimension: Array.from({ length: dimensions }, () => new Map<string, Cell>()), changed: [], bytes: EMPTY_BYTES + dimensions * 64, unsaved: null })

  const cellOf = (breakdown: Breakdown, dimension: number, value: string): Cell => {
    const cells = breakdown.byDimension[dimension]!
    let cell = cells.get(value)
    if (cell === undefined) {
      cell = { count: 0, distinct: new Set(), dirty: false, added: breakdown.unsaved === null ? null : [], unsaved: false }
      cells.set(value, cell)
      breakdown.bytes += CELL_BYTES + stringBytes(value)
    }
    return cell
  }

  const touch = (breakdown: Breakdown, dimension: number, value: string, cell: Cell) => {
    if (cell.dirty) return
    cell.dirty = true
    breakdown.changed.push([dimension, value, cell])
  }

  const markUnsaved = (breakdown: Breakdown, dimension: number, value: string, cell: Cell) => {
    if (breakdown.unsaved === null || cell.unsaved) return
    cell.unsaved = true
    breakdown.unsaved.push([dimension, value, cell])
  }

  /** Counts the item in the cell, and in what the next change record writes if it is new there. */
  const include = (breakdown: Breakdown, cell: Cell, item: string): void => {
    const before = cell.distinct.size
    cell.distinct.add(item)
    if (cell.distinct.size === before) return
    breakdown.bytes += SET_ENTRY_BYTES
    if (cell.added !== null) cell.added.push(item)
  }

  /** What is in the breakdown now is written: changes are counted from here. */
  const startTracking = (breakdown: Breakdown) => {
    breakdown.unsaved = []
    for (const cells of breakdown.byDimension) {
      for (const cell of cells.values()) {
        cell.added = []
        cell.unsaved = false
      }
    }
  }

  return {
    kind: `breakdown:${spec.dimensions.join(',')}`,
    create,
    add: (breakdown, event) => {
      spec.values(event, values)
      const item = spec.distinct(event)
      for (let dimension = 0; dimension < dimensions; dimension++) {
        const value = values[dimension]!
        const cell = cellOf(breakdown, dimension, value)
        cell.count += 1
        include(breakdown, cell, item)
        touch(breakdown, dimension, value, cell)
        markUnsaved(breakdown, dimension, value, cell)
      }
      return breakdown
    },
    merge: (into, from) => {
      from.byDimension.forEach((cells, dimension) => {
        for (const [value, source] of cells) {
          const cell = cellOf(into, dimension, value)
          cell.count += source.count
          for (const item of source.distinct) include(into, cell, item)
          touch(into, dimension, value, cell)
          markUnsaved(into, dimension, value, cell)
        }
      })
      return into
    },
    result: (breakdown, timing = 'final') => {
      // A final row goes out for every entry, as the window's final firing would have for each of
      // its keys; early and late rows only for entries that changed since their last row.
      const entries: BreakdownEntry[] = []
      if (timing === 'final') {
        breakdown.byDimension.forEach((cells, dimension) => {
          for (const [value, cell] of cells) entries.push(entryOf(dimension, value, cell, timing))
        })
      } else {
        for (const [dimension, value, cell] of breakdown.changed) entries.push(entryOf(dimension, value, cell, timing))
      }
      for (const [dimension, value, cell] of breakdown.changed) {
        cell.dirty = false
        markUnsaved(breakdown, dimension, value, cell)
      }
      breakdown.changed = []
      entries.sort(compareEntries)
      return entries
    },
    serialize: (breakdown, writer) => {
      writeInternedEntries(breakdown.byDimension, writer)
      startTracking(breakdown)
    },
    deserialize: (reader) => {
      const breakdown = create()
      // A snapshot of before the items were interned starts with dimension 0's entry count, never this.
      const interned = reader.peekU32() === INTERNED
      let items: string[] = []
      if (interned) {
        reader.u32()
        items = new Array<string>(reader.u32())
        for (let index = 0; index < items.length; index++) items[index] = reader.string()
      }
      for (let dimension = 0; dimension < dimensions; dimension++) {
        for (let remaining = reader.u32(); remaining > 0; remaining--) {
          const value = reader.string()
          const cell = cellOf(breakdown, dimension, value)
          cell.count = reader.f64()
          if (reader.bool()) touch(breakdown, dimension, value, cell)
          if (interned) {
            for (let count = reader.u32(); count > 0; count--) {
              const item = items[reader.u32()]
              if (item === undefined) throw new SnapshotFormatError('a breakdown entry names an item the snapshot does not hold')
              cell.distinct.add(item)
            }
          } else for (let count = reader.u32(); count > 0; count--) cell.distinct.add(reader.string())
          breakdown.bytes += cell.distinct.size * SET_ENTRY_BYTES
        }
      }
      startTracking(breakdown)
      return breakdown
    },
    bytes: (breakdown) => breakdown.bytes,
    changes: {
      write: (breakdown, writer) => {
        const unsaved = breakdown.unsaved ?? []
        // A visitor new to the window is new to one entry of every dimension: written once.
        const indexOf = new Map<string, number>()
        const items: string[] = []
        for (const [, , cell] of unsaved) {
          for (const item of cell.added ?? []) {
            if (indexOf.has(item)) continue
            indexOf.set(item, items.length)
            items.push(item)
          }
        }
        writer.u32(items.length)
        for (const item of items) writer.string(item)
        writer.u32(unsaved.length)
        for (const [dimension, value, cell] of unsaved) {
          writer.u32(dimension)
          writer.string(value)
          writer.f64(cell.count)
          writer.bool(cell.dirty)
          const added = cell.added ?? []
          writer.u32(added.length)
          for (const item of added) writer.u32(indexOf.get(item)!)
          cell.added = []
          cell.unsaved = false
        }
        breakdown.unsaved = []
      },
      apply: (breakdown, reader: ByteReader) => {
        const items = new Array<string>(reader.u32())
        for (let index = 0; index < items.length; index++) items[index] = reader.string()
        let cleaned = false
        for (let remaining = reader.u32(); remaining > 0; remaining--) {
          const dimension = reader.u32()
          if (dimension >= dimensions) throw new SnapshotFormatError('a breakdown change names a dimension the breakdown does not have')
          const value = reader.string()
          const cell = cellOf(breakdown, dimension, value)
          cell.count = reader.f64()
          if (reader.bool()) touch(breakdown, dimension, value, cell)
          else if (cell.dirty) {
            cell.dirty = false
            cleaned = true
          }
          for (let count = reader.u32(); count > 0; count--) {
            const item = items[reader.u32()]
            if (item === undefined) throw new SnapshotFormatError('a breakdown change names an item it does not hold')
            const before = cell.distinct.size
            cell.distinct.add(item)
            if (cell.distinct.size !== before) breakdown.bytes += SET_ENTRY_BYTES
          }
        }
        if (cleaned) breakdown.changed = breakdown.changed.filter(([, , cell]) => cell.dirty)
        return breakdown
      },
    },
  }
}

/** One entry as `serialize` writes it; snapshots of other layouts are converted through it. */
export interface BreakdownEntrySnapshot {
  readonly count: number
  readonly dirty: boolean
  readonly distinct: Iterable<string>
}

/**
 * Marks the interned layout: every distinct item (a visitor) once, sorted, then per dimension in
 * order the entries sorted by value, each with the indices of its items in ascending order. A
 * visitor is in one entry of every dimension, so the plain layout wrote and sorted each id nine
 * times; this writes it once, and the checkpoint of an open minute costs a third as much.
 */
const INTERNED = 0xffffffff

function writeInternedEntries(byDimension: readonly ReadonlyMap<string, Cell>[], writer: ByteWriter): void {
  const all = new Set<string>()
  for (const cells of byDimension) for (const cell of cells.values()) for (const item of cell.distinct) all.add(item)
  const items = [...all].sort()
  const indexOf = new Map<string, number>()
  writer.u32(INTERNED)
  writer.u32(items.length)
  items.forEach((item, index) => {
    indexOf.set(item, index)
    writer.string(item)
  })
  writeEntries(byDimension, writer, (distinct) => {
    const indices = new Uint32Array(distinct.size)
    let at = 0
    for (const item of distinct) indices[at++] = indexOf.get(item)!
    indices.sort()
    writer.u32(indices.length)
    for (const index of indices) writer.u32(index)
  })
}

/** The plain layout: per dimension in order, entries sorted by value, items sorted; what snapshots of other layouts are converted into. */
export function writeBreakdownEntries(byDimension: readonly ReadonlyMap<string, BreakdownEntrySnapshot>[], writer: ByteWriter): void {
  writeEntries(byDimension, writer, (distinct) => {
    const items = [...distinct].sort()
    writer.u32(items.length)
    for (const item of items) writer.string(item)
  })
}

/** Per dimension in order, its entries sorted by value: count, dirty, then the items as `writeItems` writes them. */
function writeEntries<Items>(byDimension: readonly ReadonlyMap<string, { readonly count: number; readonly dirty: boolean; readonly distinct: Items }>[], writer: ByteWriter, writeItems: (distinct: Items) => void): void {
  for (const cells of byDimension) {
    // Default sort: the code-unit order of compareStrings, without a call per comparison.
    const values = [...cells.keys()].sort()
    writer.u32(values.length)
    for (const value of values) {
      const cell = cells.get(value)!
      writer.string(value)
      writer.f64(cell.count)
      writer.bool(cell.dirty)
      writeItems(cell.distinct)
    }
  }
}

function entryOf(dimension: number, value: string, cell: Cell, timing: FiringTiming): BreakdownEntry {
  return { dimension, value, count: cell.count, distinct: cell.distinct.size, revision: revisionOf(cell.count, timing) }
}

