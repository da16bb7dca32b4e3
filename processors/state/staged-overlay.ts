import { compareCodePoints } from './key-order.ts'
import type { CommittedCheckpoint, KeyBounds, StateCommit, StateEntry } from './store.ts'

/**
 * Checkpoints handed to a store but not yet durable. A checkpoint's changes are taken from the
 * operators when its snapshot is taken, and committed only once every output it reflects is
 * written; in between, the operators have let go of them and read them back from here. A later
 * stage's value of a key hides an earlier one's.
 */
export class StagedOverlay {
  private readonly values = new Map<string, { value: Uint8Array | null; holders: number }>()
  private readonly staged: StateCommit[] = []

  get size(): number {
    return this.values.size
  }

  add(changes: StateCommit): void {
    this.staged.push(changes)
    for (const [key, value] of changes.entries) {
      const held = this.values.get(key)
      this.values.set(key, { value, holders: (held?.holders ?? 0) + 1 })
    }
  }

  /** Takes a stage out once it is durable, or dropped; a key another stage also holds keeps that one's value. */
  remove(changes: StateCommit): void {
    const index = this.staged.indexOf(changes)
    if (index === -1) return
    this.staged.splice(index, 1)
    for (const key of changes.entries.keys()) {
      const held = this.values.get(key)!
      if (held.holders === 1) this.values.delete(key)
      else held.holders--
    }
    // Which value a key shows depends on the stages still in: rebuild the keys this one touched.
    for (const key of changes.entries.keys()) {
      const held = this.values.get(key)
      if (held === undefined) continue
      for (let later = this.staged.length - 1; later >= 0; later--) {
        const value = this.staged[later]!.entries.get(key)
        if (value !== undefined) {
          held.value = value
          break
        }
      }
    }
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
    return this.values.get(key)?.value
  }

  /** Stored entries (in key order, within the same prefix and bounds) with the staged ones laid over them. */
  *over(stored: Iterable<StateEntry>, prefix: string, bounds: KeyBounds): Iterable<StateEntry> {
    if (this.values.size === 0) {
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
      const value = this.values.get(staged!)!.value
      if (value !== null) yield { key: staged!, value }
    }
  }

  private keysIn(prefix: string, bounds: KeyBounds): string[] {
    const keys: string[] = []
    for (const key of this.values.keys()) {
      if (!key.startsWith(prefix)) continue
      if (bounds.from !== undefined && compareCodePoints(key, bounds.from) < 0) continue
      if (bounds.until !== undefined && compareCodePoints(key, bounds.until) >= 0) continue
      keys.push(key)
    }
    return keys.sort(compareCodePoints)
  }

  clear(): StateCommit[] {
    const dropped = this.staged.splice(0)
    this.values.clear()
    return dropped
  }
}
