import { createRequire } from 'node:module'
import { compareCodePoints } from './key-order.ts'
import { StagingPartition } from './staging-partition.ts'
import { DEFAULT_CACHE_BYTES, type CommittedCheckpoint, type KeyBounds, type StateCommit, type StateEntry, type StateStore, type StateStoreOptions, type StateStoreStats } from './store.ts'

// A CommonJS module whose class is its `default` export, which Node's ESM and vitest's interop
// unwrap differently; require gives the exports object the same way under both.
const { default: BTree } = createRequire(import.meta.url)('sorted-btree') as typeof import('sorted-btree')
type Tree = InstanceType<typeof BTree<string, Uint8Array>>

/**
 * The state store in the heap, for tests and for a deployment small enough that its state fits:
 * the same ordered keys and commit rules as the disk store, nothing written anywhere, so a
 * restart starts empty (a checkpoint store elsewhere can keep it: checkpoints/whole.ts).
 */
/** The heap store's partitions also list every entry they hold (a whole checkpoint writes them all). */
export interface HeapStateStore extends StateStore {
  partition(job: string, partition: number): HeapPartition
}

export function createHeapStateStore(options: StateStoreOptions = {}): HeapStateStore {
  const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES
  const partitions = new Map<string, HeapPartition>()
  return {
    kind: 'heap',
    partition(job, partition) {
      const name = `${job}/${partition}`
      let store = partitions.get(name)
      if (store === undefined) partitions.set(name, (store = new HeapPartition(cacheBytes)))
      return store
    },
    stats(): StateStoreStats {
      let entries = 0
      for (const store of partitions.values()) entries += store.size
      return { bytesOnDisk: 0, entries }
    },
    async close() {
      partitions.clear()
    },
  }
}

export class HeapPartition extends StagingPartition {
  private readonly tree: Tree = new BTree<string, Uint8Array>(undefined, compareCodePoints)
  private committed: CommittedCheckpoint | undefined

  get size(): number {
    return this.tree.size
  }

  /** Every stored entry in key order (a whole checkpoint writes them all). */
  storedEntries(): IterableIterator<[string, Uint8Array]> {
    return this.tree.entries()
  }

  protected storedGet(key: string): Uint8Array | undefined {
    return this.tree.get(key)
  }

  protected *storedRange(prefix: string, bounds: KeyBounds): Iterable<StateEntry> {
    const from = bounds.from !== undefined && compareCodePoints(bounds.from, prefix) > 0 ? bounds.from : prefix
    for (const [key, value] of this.tree.entries(from)) {
      if (!key.startsWith(prefix)) return
      if (bounds.until !== undefined && compareCodePoints(key, bounds.until) >= 0) return
      yield { key, value }
    }
  }

  protected storedCheckpoint(): CommittedCheckpoint | undefined {
    return this.committed
  }

  protected async write(changes: StateCommit): Promise<void> {
    for (const [key, value] of changes.entries) {
      if (value === null) this.tree.delete(key)
      else this.tree.set(key, value)
    }
    this.committed = { nextOffset: changes.nextOffset, savedAt: changes.savedAt, whole: changes.whole }
  }

  protected async wipe(): Promise<void> {
    this.tree.clear()
    this.committed = undefined
  }
}
