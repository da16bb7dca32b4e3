import { ByteReader, ByteWriter } from '../state/bytes.ts'
import { MAP_ENTRY_BYTES, objectBytes, stringBytes } from '../state/heap-size.ts'
import type { PartitionStateStore } from '../state/store.ts'

/** How one key's state becomes bytes in the store and back, and roughly what it takes on the heap. */
export interface StateCodec<State> {
  write(state: State, writer: ByteWriter): void
  /** Reads what `write` wrote; the reader holds exactly that. */
  read(reader: ByteReader): State
  /** Estimated heap bytes of the decoded state (heap-size.ts). */
  heapBytes(state: State): number
}

interface Slot<State> {
  readonly key: string
  value: State | undefined
  /** Changed since the last checkpoint (or handed out, which may have changed it in place). */
  dirty: boolean
  /** Whether the store holds the key now (committed or staged): a cleared state writes a deletion only then. */
  inStore: boolean
  /** Used since the eviction pass last looked at it: a second chance before it leaves. */
  referenced: boolean
}

/** A slot and its Map entry, besides the key and the state. */
const SLOT_BYTES = objectBytes(5) + MAP_ENTRY_BYTES
/** Slots sized per estimate: enough for an average, cheap enough for every batch. */
const SAMPLED_SLOTS = 32

/**
 * Per-key state over a partition's state store. The hottest keys stay decoded in the heap, within
 * the partition's cache budget (`cacheBytes`); the rest are bytes in the store, decoded again when
 * their key is next needed. Keys leave the cache at batch boundaries (`trim`), least recently
 * used first (a clock: a key used since the last pass gets a second chance).
 *
 * The store is written only by checkpoints (`changes`): a key changed since the last one that
 * leaves the cache waits as bytes until then. So the heap holds the cache and what changed since
 * the last checkpoint, whatever the number of keys, and a restore needs no state in its snapshot.
 */
export class KeyedStateCache<State> {
  private cache = new Map<string, Slot<State>>()
  /** Slots that became dirty since the last checkpoint, to find them without scanning the cache. */
  private dirtySlots: Slot<State>[] = []
  /** Dirty keys that left the cache before the checkpoint: their bytes, or null for a deletion. */
  private evicted = new Map<string, Uint8Array | null>()
  private evictedBytes = 0
  private keysWithState = 0
  /** Lookups answered from the cache, and those read from the store, since the operator started. */
  hits = 0
  misses = 0
  private readonly writer = new ByteWriter(256)

  constructor(
    private readonly store: PartitionStateStore,
    private readonly prefix: string,
    private readonly codec: StateCodec<State>,
  ) {}

  /** Keys that have a state, cached or not. */
  get size(): number {
    return this.keysWithState
  }

  /** Keys decoded in the heap now. */
  get cachedKeys(): number {
    return this.cache.size
  }

  /** The key's state. The caller may change it in place, so the key counts as changed. */
  get(key: string): State | undefined {
    const slot = this.slot(key)
    this.markDirty(slot)
    return slot.value
  }

  /** Sets or (with undefined) clears the key's state. */
  set(key: string, value: State | undefined): void {
    const slot = this.slot(key)
    if (slot.value === undefined && value !== undefined) this.keysWithState++
    else if (slot.value !== undefined && value === undefined) this.keysWithState--
    slot.value = value
    if (value === undefined && !slot.inStore) {
      // Nothing to keep and nothing to delete: the slot would only take room.
      slot.dirty = false
      this.cache.delete(key)
      return
    }
    this.markDirty(slot)
  }

  /** Starts empty (a restore), except for the count of keys the store holds. */
  reset(keysWithState: number): void {
    this.cache = new Map()
    this.dirtySlots = []
    this.evicted = new Map()
    this.evictedBytes = 0
    this.keysWithState = keysWithState
  }

  /** Lets the least recently used keys go until the cache is within its budget. */
  trim(): void {
    if (this.cache.size === 0) return
    const limit = Math.floor(this.store.cacheBytes / this.averageSlotBytes())
    if (this.cache.size <= limit) return
    // Each slot is met at most twice: a referenced one moves to the end with its bit cleared.
    for (const slot of this.cache.values()) {
      if (this.cache.size <= limit) return
      if (slot.referenced) {
        slot.referenced = false
        this.cache.delete(slot.key)
        this.cache.set(slot.key, slot)
        continue
      }
      this.cache.delete(slot.key)
      if (slot.dirty && (slot.value !== undefined || slot.inStore)) {
        const bytes = slot.value === undefined ? null : this.encode(slot.value)
        this.evicted.set(slot.key, bytes)
        this.evictedBytes += MAP_ENTRY_BYTES + stringBytes(slot.key) + (bytes?.byteLength ?? 0)
      }
      slot.dirty = false
    }
  }

  /** Hands every key changed since the last call to a checkpoint, as state store entries. */
  changes(into: Map<string, Uint8Array | null>): void {
    for (const [key, bytes] of this.evicted) into.set(this.prefix + key, bytes)
    for (const slot of this.dirtySlots) {
      if (!slot.dirty) continue // it left the cache: its bytes were in `evicted`
      slot.dirty = false
      if (slot.value !== undefined) {
        into.set(this.prefix + slot.key, this.encode(slot.value))
        slot.inStore = true
      } else if (slot.inStore) {
        into.set(this.prefix + slot.key, null)
        slot.inStore = false
      }
    }
    this.dirtySlots = []
    this.evicted = new Map()
    this.evictedBytes = 0
  }

  /** Estimated heap of the cache and of the changed keys waiting as bytes. */
  heapBytes(): number {
    return Math.round(this.cache.size * this.averageSlotBytes() + this.evictedBytes + this.dirtySlots.length * 8)
  }

  private averageSlotBytes(): number {
    let sampled = 0
    let bytes = 0
    for (const slot of this.cache.values()) {
      bytes += SLOT_BYTES + stringBytes(slot.key) + (slot.value === undefined ? 0 : this.codec.heapBytes(slot.value))
      if (++sampled === SAMPLED_SLOTS) break
    }
    return sampled === 0 ? SLOT_BYTES : bytes / sampled
  }

  private slot(key: string): Slot<State> {
    const cached = this.cache.get(key)
    if (cached !== undefined) {
      cached.referenced = true
      this.hits++
      return cached
    }
    this.misses++
    const stored = this.store.get(this.prefix + key)
    const waiting = this.evicted.get(key)
    let slot: Slot<State>
    if (waiting === undefined) {
      slot = { key, value: stored === undefined ? undefined : this.decode(stored), dirty: false, inStore: stored !== undefined, referenced: true }
    } else {
      // Changed, evicted, and needed again before the checkpoint: the change moves back into the cache.
      this.evicted.delete(key)
      this.evictedBytes -= MAP_ENTRY_BYTES + stringBytes(key) + (waiting?.byteLength ?? 0)
      slot = { key, value: waiting === null ? undefined : this.decode(waiting), dirty: false, inStore: stored !== undefined, referenced: true }
      this.markDirty(slot)
    }
    this.cache.set(key, slot)
    return slot
  }

  private markDirty(slot: Slot<State>): void {
    if (slot.dirty) return
    slot.dirty = true
    this.dirtySlots.push(slot)
  }

  private encode(value: State): Uint8Array {
    this.writer.reset()
    this.codec.write(value, this.writer)
    return this.writer.finish()
  }

  private decode(bytes: Uint8Array): State {
    const reader = new ByteReader(bytes)
    const value = this.codec.read(reader)
    if (!reader.done()) throw new Error(`state of ${this.prefix}: trailing bytes after a key's state`)
    return value
  }
}
