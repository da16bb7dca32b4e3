import type { ByteReader, ByteWriter } from '../state/bytes.ts'
import type { KeyBounds } from '../state/store.ts'
import { fromSortableDouble, sortableDouble } from '../state/key-order.ts'
import type { StateContext, WindowState } from './window-state.ts'

/**
 * How a key's sessions are kept as bytes: the chain (count, then each state by start), in a
 * snapshot and as a state store entry alike, and where the store keeps them: the chain at
 * `<prefix>s/<key>`, an index entry per key at `<prefix>d/<due>/<key>` (16 hex digits that sort
 * as the due times do).
 */

export function writeChain<In>(writer: ByteWriter, context: StateContext<In>, head: WindowState): void {
  let count = 0
  for (let node: WindowState | null = head; node !== null; node = node.next) count++
  writer.u32(count)
  for (let node: WindowState | null = head; node !== null; node = node.next) context.writeState(writer, node)
}

export interface ReadChain {
  readonly head: WindowState
  readonly sessions: number
  /** The states' bytes (KEY_BYTES not included). */
  readonly bytes: number
}

/** What writeChain wrote; `accounted` false for states already in the state bound (read back from the store). */
export function readChain<In>(reader: ByteReader, context: StateContext<In>, key: string, accounted: boolean): ReadChain {
  let head: WindowState | null = null
  let previous: WindowState | null = null
  let bytes = 0
  let sessions = 0
  for (let remaining = reader.u32(); remaining > 0; remaining--) {
    const state = context.readState(reader, key, accounted)
    if (previous === null) head = state
    else previous.next = state
    previous = state
    bytes += state.bytes
    sessions++
  }
  if (head === null) throw new Error(`the sessions of ${key} are an empty chain`)
  return { head, sessions, bytes }
}

/** `<prefix>d/` + 16 hex digits of the due time + `/`. */
const DUE_KEY_HEAD = 2 + 16 + 1

export class SessionStoreKeys {
  private readonly index: string

  constructor(private readonly prefix: string) {
    this.index = `${prefix}d/`
  }

  chain(key: string): string {
    return `${this.prefix}s/${key}`
  }

  due(due: number, key: string): string {
    return `${this.index}${sortableDouble(due)}/${key}`
  }

  get indexPrefix(): string {
    return this.index
  }

  /** Index entries due after `after` and no later than `through` (either may be ±Infinity). */
  dueBetween(after: number, through: number): KeyBounds {
    return { from: this.dueAfter(after).from, until: this.dueAfter(through).from }
  }

  /** Index entries due after `after`: every entry at `after` ends in `/`, below the `0` that follows. */
  dueAfter(after: number): KeyBounds {
    return { from: `${this.index}${sortableDouble(after)}0` }
  }

  keyOf(entry: string): string {
    return entry.slice(this.prefix.length + DUE_KEY_HEAD)
  }

  dueOf(entry: string): number {
    return fromSortableDouble(entry.slice(this.index.length, this.index.length + 16))
  }
}
