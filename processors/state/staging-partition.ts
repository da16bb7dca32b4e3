import { StagedOverlay } from './staged-overlay.ts'
import type { CommittedCheckpoint, KeyBounds, PartitionStateStore, StagedCommit, StateCommit, StateEntry } from './store.ts'

/**
 * What both adapters share: stages laid over the stored entries, committed one after another in
 * the order staged. An adapter supplies the stored layer: reads, and a write that is durable when
 * it resolves.
 */
export abstract class StagingPartition implements PartitionStateStore {
  private readonly overlay = new StagedOverlay()
  private lastCommit: Promise<void> = Promise.resolve()
  /** Stages whose commit was called: a discard leaves them, as they are on their way to disk. */
  private readonly committing = new Set<StateCommit>()

  constructor(readonly cacheBytes: number) {}

  protected abstract storedGet(key: string): Uint8Array | undefined
  protected abstract storedRange(prefix: string, bounds: KeyBounds): Iterable<StateEntry>
  protected abstract storedCheckpoint(): CommittedCheckpoint | undefined
  /** Writes a checkpoint's changes and position atomically; resolves once they are durable. */
  protected abstract write(changes: StateCommit): Promise<void>
  protected abstract wipe(): Promise<void>

  get(key: string): Uint8Array | undefined {
    const staged = this.overlay.get(key)
    if (staged !== undefined) return staged ?? undefined
    return this.storedGet(key)
  }

  range(prefix: string, bounds: KeyBounds = {}): Iterable<StateEntry> {
    return this.overlay.over(this.storedRange(prefix, bounds), prefix, bounds)
  }

  checkpoint(): CommittedCheckpoint | undefined {
    return this.overlay.checkpoint() ?? this.storedCheckpoint()
  }

  stage(changes: StateCommit): StagedCommit {
    this.validate(changes)
    this.overlay.add(changes)
    let committing: Promise<void> | undefined
    return {
      commit: () => {
        if (committing !== undefined) return committing
        if (!this.overlay.has(changes)) return (committing = Promise.reject(new Error('this checkpoint was discarded before it was committed')))
        // A commit holds only its own changes: one staged before it must reach the disk first.
        const stages = this.overlay.stages()
        const earlier = stages.slice(0, stages.indexOf(changes))
        if (earlier.some((stage) => !this.committing.has(stage))) return (committing = Promise.reject(new Error('a checkpoint staged earlier has not been committed')))
        this.committing.add(changes)
        const commit = this.lastCommit.then(async () => {
          try {
            await this.write(changes)
          } finally {
            this.committing.delete(changes)
            this.overlay.remove(changes)
          }
        })
        this.lastCommit = commit.catch(() => {})
        return (committing = commit)
      },
    }
  }

  commit(changes: StateCommit): Promise<void> {
    return this.stage(changes).commit()
  }

  discardStaged(): void {
    for (const changes of this.overlay.stages()) if (!this.committing.has(changes)) this.overlay.remove(changes)
  }

  /** Resolves once every commit called so far has landed or failed: the store may close then. */
  settled(): Promise<void> {
    return this.lastCommit
  }

  async clear(): Promise<void> {
    await this.lastCommit
    this.overlay.clear()
    await this.wipe()
  }

  /** An adapter's limits on keys, checked when a checkpoint is handed over rather than when it fails to write. */
  protected validate(changes: StateCommit): void {
    void changes
  }
}
