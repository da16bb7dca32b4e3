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
  private readonly grouped = new WeakMap<StateCommit, Map<string, string[]>>()

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
    const keys = this.keysIn(prefix, bounds)
    const iterator = stored[Symbol.iterator]()
    let next = iterator.next()
    let index = 0
    for (;;) {
      const staged = keys[index]
      if (next.done && staged === undefined) return
      const order = next.done ? 1 : staged === undefined ? -1 : compareCodePoints(next.value.key, staged)
      if (order < 0) {
        yield next.value as StateEntry
        next = iterator.next()
        continue
      }
      if (order === 0) next = iterator.next()
      index++
      const value = this.get(staged!)!
      if (value !== null) yield { key: staged!, value }
    }
  }

  private keysIn(prefix: string, bounds: KeyBounds): string[] {
    const keys = new Set<string>()
    // Every key under a prefix of two names or more is in that prefix's group; a shorter one spans groups.
    const first = prefix.indexOf('/')
    const grouped = first !== -1 && prefix.indexOf('/', first + 1) !== -1
    for (const stage of this.staged) {
      const candidates = grouped ? this.groupsOf(stage).get(groupOf(prefix)) ?? [] : stage.entries.keys()
      for (const key of candidates) {
        if (!key.startsWith(prefix)) continue
        if (bounds.from !== undefined && compareCodePoints(key, bounds.from) < 0) continue
        if (bounds.until !== undefined && compareCodePoints(key, bounds.until) >= 0) continue
        keys.add(key)
      }
    }
    return [...keys].sort(compareCodePoints)
  }

  private groupsOf(stage: StateCommit): Map<string, string[]> {
    let groups = this.grouped.get(stage)
    if (groups === undefined) {
      groups = new Map()
      for (const key of stage.entries.keys()) {
        const group = groupOf(key)
        const keys = groups.get(group)
        if (keys === undefined) groups.set(group, [key])
        else keys.push(key)
      }
      this.grouped.set(stage, groups)
    }
    return groups
  }

  clear(): StateCommit[] {
    return this.staged.splice(0)
  }
}

/** A key's first two names with their slashes (`dedup/c/`), or the whole key if it has fewer. */
function groupOf(key: string): string {
  const first = key.indexOf('/')
  if (first === -1) return key
  const second = key.indexOf('/', first + 1)
  return second === -1 ? key : key.slice(0, second + 1)
}
