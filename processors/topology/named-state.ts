import type { RestoreResult } from '../job.ts'
import { splitSnapshot } from '../state/snapshot-parts.ts'
import type { Topology } from './declaration.ts'

/**
 * What a state part says about itself. The sums (state bytes, keys, overflow, the state cache's
 * bytes, hits and misses) add up over the
 * task; watermark and late come from the one part the job names; any other figure is the part's
 * own and keeps its name.
 */
export interface PartStats {
  readonly stateBytes?: number
  readonly keys?: number
  readonly overflow?: number
  readonly watermark?: number
  readonly late?: number
  readonly [figure: string]: number | undefined
}

/** A piece of a task's state, named `<operator>` or `<operator>/<what>` after the operator that owns it. */
export interface StatePart {
  snapshot(): Uint8Array
  restore(bytes: Uint8Array): RestoreResult
  stats(): PartStats
  /** A part that keeps its state in the state store: what changed since the last checkpoint. */
  changes?(into: Map<string, Uint8Array | null>): void
}

export interface NamedStateOptions {
  /** The part whose watermark and late count are the task's (the operator that sees every event). */
  readonly clock: string
  /**
   * The parts in the order of the positional snapshots written before parts were named (9973fea
   * and older), so those checkpoints still restore.
   */
  readonly positionalOrder: readonly string[]
}

export interface NamedState {
  snapshot(): Uint8Array
  changes(into: Map<string, Uint8Array | null>): void
  restore(bytes: Uint8Array): RestoreResult
  stats(): Record<string, number>
}

/** 'EDNS': a snapshot of named parts. A positional snapshot starts with its part count, a small number. */
const NAMED_MAGIC = 0x45444e53
const SUMMED = new Set(['stateBytes', 'keys', 'overflow', 'cacheBytes', 'cacheHits', 'cacheMisses'])
const FROM_CLOCK = new Set(['watermark', 'late'])

/**
 * A task's snapshot, restore and stats composed from its parts by name. The snapshot writes each
 * part under its name, in the order given (so the bytes stay deterministic); a restore gives each
 * part the bytes saved under its name, and a part the snapshot does not have (an operator added
 * since) starts empty. Renaming a part is a format change: its old state is not found.
 */
export function namedState(job: string, topology: Topology, parts: Readonly<Record<string, StatePart>>, options: NamedStateOptions): NamedState {
  const operators = new Set(topology.operators.map((operator) => operator.name))
  for (const name of Object.keys(parts)) {
    const owner = name.split('/')[0]!
    if (!operators.has(owner)) throw new Error(`job "${job}" keeps state "${name}" for an operator it does not declare`)
  }
  if (!(options.clock in parts)) throw new Error(`job "${job}": the clock part "${options.clock}" is not one of its state parts`)
  const entries = Object.entries(parts)
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()

  const restoreParts = (saved: ReadonlyMap<string, Uint8Array>): RestoreResult => {
    for (const name of saved.keys()) {
      if (!(name in parts)) return { ok: false, reason: `the snapshot holds state "${name}", which job "${job}" no longer has` }
    }
    for (const [name, part] of entries) {
      const bytes = saved.get(name)
      if (bytes === undefined) continue
      const result = part.restore(bytes)
      if (!result.ok) return { ok: false, reason: `${name}: ${result.reason}` }
    }
    return { ok: true }
  }

  return {
    changes(into) {
      for (const [, part] of entries) part.changes?.(into)
    },
    snapshot() {
      const names = entries.map(([name]) => encoder.encode(name))
      const snapshots = entries.map(([, part]) => part.snapshot())
      const total = 8 + snapshots.reduce((sum, bytes, index) => sum + 2 + names[index]!.length + 4 + bytes.length, 0)
      const bytes = new Uint8Array(total)
      const view = new DataView(bytes.buffer)
      view.setUint32(0, NAMED_MAGIC)
      view.setUint32(4, entries.length)
      let offset = 8
      snapshots.forEach((part, index) => {
        const name = names[index]!
        view.setUint16(offset, name.length)
        bytes.set(name, offset + 2)
        offset += 2 + name.length
        view.setUint32(offset, part.length)
        bytes.set(part, offset + 4)
        offset += 4 + part.length
      })
      return bytes
    },
    restore(bytes) {
      const saved = new Map<string, Uint8Array>()
      try {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        if (bytes.byteLength >= 8 && view.getUint32(0) === NAMED_MAGIC) {
          const count = view.getUint32(4)
          let offset = 8
          for (let index = 0; index < count; index++) {
            const nameLength = view.getUint16(offset)
            const name = decoder.decode(bytes.subarray(offset + 2, offset + 2 + nameLength))
            offset += 2 + nameLength
            const length = view.getUint32(offset)
            if (offset + 4 + length > bytes.byteLength) throw new Error(`the snapshot part "${name}" runs past the end`)
            saved.set(name, bytes.subarray(offset + 4, offset + 4 + length))
            offset += 4 + length
          }
          if (offset !== bytes.byteLength) throw new Error('trailing bytes after the snapshot parts')
        } else {
          const positional = splitSnapshot(bytes, options.positionalOrder.length)
          options.positionalOrder.forEach((name, index) => saved.set(name, positional[index]!))
        }
      } catch (error) {
        return { ok: false, reason: (error as Error).message }
      }
      return restoreParts(saved)
    },
    stats() {
      const stats: Record<string, number> = {}
      const clock = parts[options.clock]!.stats()
      for (const figure of FROM_CLOCK) if (clock[figure] !== undefined) stats[figure] = clock[figure]!
      for (const [name, part] of entries) {
        for (const [figure, value] of Object.entries(part.stats())) {
          if (value === undefined || FROM_CLOCK.has(figure)) continue
          if (SUMMED.has(figure)) stats[figure] = (stats[figure] ?? 0) + value
          else if (figure in stats) throw new Error(`job "${job}": the figure "${figure}" of "${name}" is also another part's`)
          else stats[figure] = value
        }
      }
      return stats
    },
  }
}
