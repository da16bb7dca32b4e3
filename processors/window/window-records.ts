import { ByteReader, ByteWriter, SnapshotFormatError } from '../state/bytes.ts'
import { sortableDouble } from '../state/key-order.ts'
import type { StateEntry } from '../state/store.ts'
import type { SavedRecords, StateContext, WindowState } from './window-state.ts'

/**
 * How a tumbling or hopping window's states live in the state store: each state as records
 * `<prefix>o/<start>/<length>:<key>/<seq>`, record 0 the whole state and each one after it what
 * changed by a later checkpoint (Aggregator.changes). An open minute's exact visitor sets are then
 * written as they grow, a few hundred bytes a checkpoint, instead of whole at every one.
 *
 * The key is prefixed with its length so that one state's records are a range of their own
 * whatever characters keys hold (`a` and `a/b` never share a prefix: `1:a/` and `3:a/b/`).
 * Sequence numbers are fixed-width hex, so a range reads a state's records in order.
 */
export class WindowRecordKeys {
  constructor(private readonly prefix: string) {}

  /** Every record of the window starting at `start`. */
  window(start: number): string {
    return `${this.prefix}o/${sortableDouble(start)}/`
  }

  /** Every record of one state. */
  state(start: number, key: string): string {
    return `${this.window(start)}${key.length}:${key}/`
  }

  record(start: number, key: string, seq: number): string {
    return this.state(start, key) + seq.toString(16).padStart(8, '0')
  }

  /** Where releases before these records (format 2 and 3) kept a fired window's states whole, `<key>` after it. */
  legacyWindow(start: number): string {
    return `${this.prefix}w/${sortableDouble(start)}/`
  }

  /** The state key and sequence number of a record listed under `window(start)`, which is `windowLength` long. */
  parse(recordKey: string, windowLength: number): { key: string; seq: number } {
    const colon = recordKey.indexOf(':', windowLength)
    const length = Number(recordKey.slice(windowLength, colon))
    const key = recordKey.slice(colon + 1, colon + 1 + length)
    const seq = Number.parseInt(recordKey.slice(colon + 2 + length), 16)
    if (colon < 0 || !Number.isInteger(length) || recordKey[colon + 1 + length] !== '/' || !Number.isInteger(seq)) {
      throw new SnapshotFormatError(`the state store holds a window record under an unreadable key ${JSON.stringify(recordKey)}`)
    }
    return { key, seq }
  }
}

/**
 * A state's changes are written after its whole record until they outweigh it this many times
 * (and this many bytes): then the whole state is written again and the changes deleted. Exact sets
 * only grow, so their changes add up to about the state itself and a window of a few minutes never
 * gets there; what this bounds is a state whose changes repeat themselves (an entry count written
 * again each time), which a restore would otherwise read record by record.
 */
const REWRITE_FACTOR = 8
const REWRITE_MIN_BYTES = 256 * 1024

/**
 * Writes the state's next record into the checkpoint's entries: what changed since its last one,
 * or the whole state when it has none, its aggregates write no changes (`incremental` false), or
 * its changes outgrew it (deleting them).
 */
export function writeNextRecord<In>(
  state: WindowState,
  keys: WindowRecordKeys,
  context: StateContext<In>,
  incremental: boolean,
  writer: ByteWriter,
  into: Map<string, Uint8Array | null>,
): void {
  const saved = state.saved
  if (saved !== null && incremental) {
    writer.reset()
    context.writeChanges(writer, state)
    const changes = writer.finish()
    if (saved.changeBytes + changes.byteLength <= Math.max(REWRITE_FACTOR * saved.wholeBytes, REWRITE_MIN_BYTES)) {
      into.set(keys.record(state.start, state.key, saved.count), changes)
      saved.count++
      saved.changeBytes += changes.byteLength
      return
    }
  }
  writer.reset()
  context.writeState(writer, state)
  const whole = writer.finish()
  into.set(keys.record(state.start, state.key, 0), whole)
  if (saved !== null) for (let seq = 1; seq < saved.count; seq++) into.set(keys.record(state.start, state.key, seq), null)
  state.saved = { count: 1, wholeBytes: whole.byteLength, changeBytes: 0 }
}

/**
 * Reads back every state whose records `entries` lists (a range under `keys.window(start)`, in key
 * order), each folded from its whole record and the changes after it. `accounted` as for readState.
 */
export function* readWindowStates<In>(
  entries: Iterable<StateEntry>,
  keys: WindowRecordKeys,
  start: number,
  context: StateContext<In>,
  accounted: boolean,
): Iterable<{ state: WindowState; saved: SavedRecords }> {
  const windowLength = keys.window(start).length
  let current: { state: WindowState; saved: SavedRecords } | undefined
  for (const entry of entries) {
    const { key, seq } = keys.parse(entry.key, windowLength)
    if (current !== undefined && current.state.key !== key) {
      yield finish(current, context, accounted)
      current = undefined
    }
    if (current === undefined) {
      if (seq !== 0) throw new SnapshotFormatError(`the state store holds changes of the window state ${JSON.stringify(key)} but not the state they change`)
      current = { state: context.readState(new ByteReader(entry.value), key, false), saved: { count: 1, wholeBytes: entry.value.byteLength, changeBytes: 0 } }
      continue
    }
    if (seq !== current.saved.count) throw new SnapshotFormatError(`the state store misses a record of the window state ${JSON.stringify(key)} (found ${seq}, expected ${current.saved.count})`)
    context.applyChanges(new ByteReader(entry.value), current.state)
    current.saved.count++
    current.saved.changeBytes += entry.value.byteLength
  }
  if (current !== undefined) yield finish(current, context, accounted)
}

function finish<In>(read: { state: WindowState; saved: SavedRecords }, context: StateContext<In>, accounted: boolean) {
  read.state.bytes = context.measure(read.state)
  if (accounted) context.totalBytes += read.state.bytes
  read.state.saved = read.saved
  return read
}
