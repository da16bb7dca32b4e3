import { ByteReader, ByteWriter, compareStrings, SnapshotFormatError } from '../state/bytes.ts'
import { FORMAT_VERSION, SPILLED_WINDOWS_FORMAT_VERSION, STORED_WINDOWS_FORMAT_VERSION, WHOLE_FORMAT_VERSION } from './formats.ts'
import { fingerprintOf, MAGIC } from './operator.ts'
import type { AnyAggregator, WindowAssigner } from './types.ts'
import { WatermarkTracker } from './watermarks.ts'

/**
 * Converts the snapshot of a tumbling or hopping window operator into the snapshot of one keyed
 * more coarsely, whose every state stands for a group of the old states in the same window. A job
 * that changes how it keys an aligned window (the clickstream breakdown, from one state per
 * dimension value to one per project) restores its old checkpoints through this instead of
 * dropping their open windows. Watermarks, timers and counters are carried over as they were.
 */

interface OperatorShape {
  readonly assigner: WindowAssigner
  readonly aggregates: Readonly<Record<string, AnyAggregator<never>>>
}

/** An old state as the grouping sees it: its key, its event count and its accumulators, read. */
export interface OldState {
  readonly key: string
  readonly events: number
  readonly dirty: boolean
  readonly emitted: boolean
  readonly accumulators: readonly unknown[]
}

export interface Regrouping {
  /** The new key an old state belongs to. */
  group(key: string): string
  /**
   * One new state from the old states of a group (sorted by key): its event count, and what the
   * new aggregates' `serialize` would write for it, aggregate by aggregate in their order.
   */
  fold(states: readonly OldState[]): { readonly events: number; write(writer: ByteWriter, aggregate: number): void }
}

/** The converted snapshot, or null when `bytes` is not a snapshot of `from` (it may already be one of `to`). */
export function regroupAlignedSnapshot(bytes: Uint8Array, from: OperatorShape, to: OperatorShape, regrouping: Regrouping): Uint8Array | null {
  if (from.assigner.type === 'session' || to.assigner.type === 'session') throw new RangeError('only aligned (tumbling, hopping) windows regroup')
  const reader = new ByteReader(bytes)
  if (bytes.length < 5 || reader.u32() !== MAGIC) return null
  const format = reader.u8()
  if (format < WHOLE_FORMAT_VERSION || format > FORMAT_VERSION) return null
  if (reader.string() !== fingerprintOf(from)) return null
  const oldAggregators = Object.values(from.aggregates)
  const newAggregators = Object.keys(to.aggregates).length

  const writer = new ByteWriter(bytes.length)
  writer.u32(MAGIC)
  writer.u8(format)
  writer.string(fingerprintOf(to))
  // Watermark tracker, next early firing and the five counters: carried over byte for byte.
  const carriedFrom = reader.offset
  new WatermarkTracker(0, 0).restore(reader)
  for (let field = 0; field < 6; field++) reader.f64()
  writer.raw(reader.slice(carriedFrom, reader.offset))

  const buckets = reader.u32()
  writer.u32(buckets)
  for (let bucket = 0; bucket < buckets; bucket++) {
    writer.f64(reader.f64())
    writer.f64(reader.f64())
    writer.bool(reader.bool())
    if (format >= SPILLED_WINDOWS_FORMAT_VERSION) {
      // States already on disk are in the store under the old keys, where the new operator would not find them.
      const stored = format < STORED_WINDOWS_FORMAT_VERSION ? reader.bool() : false
      const spilledKeys = reader.f64()
      const spilledBytes = reader.f64()
      if (spilledKeys !== 0) throw new SnapshotFormatError('a window with states in the state store cannot be regrouped')
      if (format < STORED_WINDOWS_FORMAT_VERSION) writer.bool(stored)
      writer.f64(spilledKeys)
      writer.f64(spilledBytes)
    }
    const groups = new Map<string, { start: number; end: number; fired: boolean; states: OldState[] }>()
    for (let keys = reader.u32(); keys > 0; keys--) {
      const key = reader.string()
      const start = reader.f64()
      const end = reader.f64()
      const events = reader.f64()
      const flags = reader.u8()
      const accumulators = oldAggregators.map((aggregator) => reader.section((section) => aggregator.deserialize(section)))
      const name = regrouping.group(key)
      let group = groups.get(name)
      if (group === undefined) groups.set(name, (group = { start, end, fired: false, states: [] }))
      group.fired ||= (flags & 4) !== 0
      group.states.push({ key, events, dirty: (flags & 1) !== 0, emitted: (flags & 2) !== 0, accumulators })
    }
    if (format >= STORED_WINDOWS_FORMAT_VERSION && reader.u32() !== 0) throw new SnapshotFormatError('a window with states in the state store cannot be regrouped')
    const names = [...groups.keys()].sort(compareStrings)
    writer.u32(names.length)
    for (const name of names) {
      const group = groups.get(name)!
      group.states.sort((left, right) => compareStrings(left.key, right.key))
      const folded = regrouping.fold(group.states)
      writer.string(name)
      writer.f64(group.start)
      writer.f64(group.end)
      writer.f64(folded.events)
      const dirty = group.states.some((state) => state.dirty)
      const emitted = group.states.some((state) => state.emitted)
      writer.u8((dirty ? 1 : 0) | (emitted ? 2 : 0) | (group.fired ? 4 : 0))
      for (let index = 0; index < newAggregators; index++) writer.section(() => folded.write(writer, index))
    }
    if (format >= STORED_WINDOWS_FORMAT_VERSION) writer.u32(0)
  }
  if (!reader.done()) throw new SnapshotFormatError('trailing bytes after snapshot')
  return writer.finish()
}
