import type { RestoreResult } from '../job.ts'
import { numberPart, readNumberPart } from '../state/snapshot-parts.ts'
import type { OperatorStats } from '../window/index.ts'
import type { PartStats, StatePart } from './named-state.ts'

interface Snapshotting {
  snapshot(): Uint8Array
  restore(bytes: Uint8Array): RestoreResult
}

/** Any state holder, with the figures it reports. */
export function statePart(holder: Snapshotting, stats: () => PartStats, restore = (bytes: Uint8Array) => holder.restore(bytes)): StatePart {
  return { snapshot: () => holder.snapshot(), restore, stats }
}

/** A window operator: its state size, keys, overflow, watermark and late count. */
export function windowPart(operator: Snapshotting & { stats(): OperatorStats; changes(into: Map<string, Uint8Array | null>): void }, restore?: (bytes: Uint8Array) => RestoreResult): StatePart {
  const part = statePart(operator, () => {
    const stats = operator.stats()
    return { stateBytes: stats.stateBytes, keys: stats.keys, overflow: stats.overflowKeysPerWindow + stats.overflowStateBytes, watermark: stats.watermark, late: stats.late }
  }, restore)
  return { ...part, changes: (into) => operator.changes(into) }
}

/** An operator whose state lives in the partition's store: it hands its changes to each checkpoint. */
export function storedPart(holder: Snapshotting & { changes(into: Map<string, Uint8Array | null>): void; cacheStats?(): PartStats }, stats: () => PartStats): StatePart {
  return { ...statePart(holder, () => ({ ...stats(), ...holder.cacheStats?.() })), changes: (into) => holder.changes(into) }
}

/** The event-id deduplicator: ids remembered and duplicates dropped. */
export function deduplicatorPart(deduplicator: Snapshotting & { heapBytes(): number; changes(into: Map<string, Uint8Array | null>): void; readonly duplicates: number; readonly size: number }): StatePart {
  return storedPart(deduplicator, () => ({ stateBytes: deduplicator.heapBytes(), duplicates: deduplicator.duplicates, rememberedIds: deduplicator.size }))
}

/** A counter kept beside an operator's state (events it let go, rows it emitted), reported as `figure`. */
export class CounterPart implements StatePart {
  value = 0
  constructor(private readonly figure: string) {}
  snapshot(): Uint8Array {
    return numberPart(this.value)
  }
  restore(bytes: Uint8Array): RestoreResult {
    try {
      this.value = readNumberPart(bytes)
      return { ok: true }
    } catch (error) {
      return { ok: false, reason: (error as Error).message }
    }
  }
  stats(): PartStats {
    return { [this.figure]: this.value }
  }
}
