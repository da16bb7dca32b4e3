import { compareCodePoints } from './key-order.ts'
import type { CommittedCheckpoint, KeyBounds, StateCommit, StateEntry } from './store.ts'

/**
 * Checkpoints handed to a store but not yet durable. A checkpoint's changes are taken from the
 * operators when its snapshot is taken, and committed only once every output it reflects is
 * written; in between, the operators have let go of them and read them back from here. A later
 * stage's value of a key hides an earlier one's. The stages' own maps are read, newest first:
 * usually one is in flight, and staging a checkpoint of thousands of ids then costs nothing per id.
 */
export class StagedOverlay {
  private readonly staged: StateCommit[] = []
  /** Per stage, its keys by group (first two names, `dedup/c/`), sorted: built when a range first asks. */
  private readonly grouped = new WeakMap<StateCommit, Map<string, { keys: string[]; sorted: boolean }>>()

  add(changes: StateCommit): void {
    this.staged.push(changes)
  }

  /** Takes a stage out once it is durable, or dropped. */
  remove(changes: StateCommit): void {
    const index = this.staged.indexOf(changes)
    if (index !== -1) this.staged.splice(index, 1)
  }

  stages(): readonly StateCommit[] {
    return [...this.staged]
  }

  has(changes: StateCommit): boolean {
    return this.staged.includes(changes)
  }

  /** The newest stage's checkpoint, or undefined when nothing is staged. */
  checkpoint(): CommittedCheckpoint | undefined {
    const newest = this.staged.at(-1)
    return newest === undefined ? undefined : { nextOffset: newest.nextOffset, savedAt: newest.savedAt, whole: newest.whole }
  }

  /** The staged value: bytes, null for a staged delete, undefined when no stage holds the key. */
  get(key: string): Uint8Array | null | undefined {
    for (let index = this.staged.length - 1; index >= 0; index--) {
      const value = this.staged[index]!.entries.get(key)
      if (value !== undefined) return value
    }
    return undefined
  }

  /** Stored entries (in key order, within the same prefix and bounds) with the staged ones laid over them. */
  *over(stored: Iterable<StateEntry>, prefix: string, bounds: KeyBounds): Iterable<StateEntry> {
    if (this.staged.length === 0) {
      yield* stored
      return
    }
    const keys = this.keysIn(prefix, bounds)[Symbol.iterator]()
    const iterator = stored[Symbol.iterator]()
    try {
      let next = iterator.next()
      let staged = keys.next()
      for (;;) {
        if (next.done && staged.done) return
        const order = next.done ? 1 : staged.done ? -1 : compareCodePoints(next.value.key, staged.value)
        if (order < 0) {
          yield next.value as StateEntry
          next = iterator.next()
          continue
        }
        if (order === 0) next = iterator.next()
        const key = staged.value as string
        staged = keys.next()
        const value = this.get(key)!
        if (value !== null) yield { key, value }
      }
    } finally {
      // A caller that stops early must close the stored range too: an LMDB cursor left open holds
      // its read transaction, and the store cannot reuse any page freed after it (the file grows).
      iterator.return?.()
    }
  }

  /**
   * The staged keys in the range, in order, read as the range is: a scan that stops at its first
   * entries (the next due timer) costs those, not every key staged under the prefix.
   */
  private *keysIn(prefix: string, bounds: KeyBounds): Iterable<string> {
    const start = bounds.from !== undefined && compareCodePoints(bounds.from, prefix) > 0 ? bounds.from : prefix
    const inRange = (key: string) => key.startsWith(prefix) && (bounds.until === undefined || compareCodePoints(key, bounds.until) < 0)
    // Every key under a prefix of two names or more is in that prefix's group; a shorter one spans groups.
    const first = prefix.indexOf('/')
    if (first === -1 || prefix.indexOf('/', first + 1) === -1) {
      const keys = new Set<string>()
      for (const stage of this.staged) for (const key of stage.entries.keys()) if (compareCodePoints(key, start) >= 0 && inRange(key)) keys.add(key)
      yield* [...keys].sort(compareCodePoints)
      return
    }
    const group = groupOf(prefix)
    const cursors: Array<{ keys: readonly string[]; at: number }> = []
    for (const stage of this.staged) {
      const keys = this.sortedGroup(stage, group)
      if (keys !== undefined) cursors.push({ keys, at: lowerBound(keys, start) })
    }
    // A merge of the stages' sorted keys; a key staged in several is given once.
    let last: string | undefined
    for (;;) {
      let smallest: { keys: readonly string[]; at: number } | undefined
      for (const cursor of cursors) {
        if (cursor.at >= cursor.keys.length) continue
        if (smallest === undefined || compareCodePoints(cursor.keys[cursor.at]!, smallest.keys[smallest.at]!) < 0) smallest = cursor
      }
      if (smallest === undefined) return
      const key = smallest.keys[smallest.at++]!
      if (key === last) continue
      if (!inRange(key)) return
      last = key
      yield key
    }
  }

  /** The stage's keys in `group`, sorted when a range first asks for that group (most are never ranged over). */
  private sortedGroup(stage: StateCommit, group: string): readonly string[] | undefined {
    let groups = this.grouped.get(stage)
    if (groups === undefined) {
      groups = new Map()
      for (const key of stage.entries.keys()) {
        const name = groupOf(key)
        const keys = groups.get(name)
        if (keys === undefined) groups.set(name, { keys: [key], sorted: false })
        else keys.keys.push(key)
      }
      this.grouped.set(stage, groups)
    }
    const keys = groups.get(group)
    if (keys !== undefined && !keys.sorted) {
      keys.keys.sort(compareCodePoints)
      keys.sorted = true
    }
    return keys?.keys
  }

  clear(): StateCommit[] {
    return this.staged.splice(0)
  }
}

/** The index of the first key not before `key` in sorted `keys`. */
function lowerBound(keys: readonly string[], key: string): number {
  let low = 0
  let high = keys.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (compareCodePoints(keys[middle]!, key) < 0) low = middle + 1
    else high = middle
  }
  return low
}

/** A key's first two names with their slashes (`dedup/c/`), or the whole key if it has fewer. */
function groupOf(key: string): string {
  const first = key.indexOf('/')
  if (first === -1) return key
  const second = key.indexOf('/', first + 1)
  return second === -1 ? key : key.slice(0, second + 1)
}
