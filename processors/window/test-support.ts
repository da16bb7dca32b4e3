import fc from 'fast-check'
import type { Emission, ResultRow } from './types.ts'

/** Shared fixtures for the window tests: a tiny event type, random streams, a sink simulator. */

export interface Click {
  readonly id: number
  readonly time: number
  readonly user: string
  readonly value: number
}

export type Step =
  | { readonly type: 'batch'; readonly partition: number; readonly now: number; readonly events: readonly Click[] }
  | { readonly type: 'tick'; readonly now: number }

export interface Operatorish<Values> {
  process(partition: number, events: readonly Click[], nowMs: number): Emission<Click, Values>[]
  onProcessingTime(nowMs: number): Emission<Click, Values>[]
}

export function runSteps<Values>(operator: Operatorish<Values>, steps: readonly Step[]): Emission<Click, Values>[] {
  const out: Emission<Click, Values>[] = []
  for (const step of steps) {
    if (step.type === 'batch') out.push(...operator.process(step.partition, step.events, step.now))
    else out.push(...operator.onProcessingTime(step.now))
  }
  return out
}

/**
 * Random multi-partition streams: each partition's event time drifts forward with random disorder
 * and frequent duplicate timestamps; processing time sometimes jumps far enough to idle partitions;
 * one partition may fall silent for long stretches. Event ids are global and unique.
 */
export function streamArbitrary(options: { partitions?: number; maxSteps?: number; users?: number } = {}) {
  const partitions = options.partitions ?? 3
  const users = options.users ?? 4
  const rawStep = fc.record({
    tick: fc.boolean(),
    partition: fc.nat(partitions - 1),
    clockAdvance: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 50, max: 400 })),
    drift: fc.integer({ min: 0, max: 25 }),
    events: fc.array(
      fc.record({
        jitter: fc.integer({ min: -60, max: 10 }),
        user: fc.nat(users - 1),
        value: fc.integer({ min: -5, max: 100 }),
      }),
      { maxLength: 6 },
    ),
  })
  return fc.array(rawStep, { minLength: 1, maxLength: options.maxSteps ?? 40 }).map((raw) => {
    const cursor = new Array<number>(partitions).fill(1000)
    let now = 0
    let id = 0
    const steps: Step[] = []
    for (const step of raw) {
      now += step.clockAdvance
      if (step.tick) {
        steps.push({ type: 'tick', now })
        continue
      }
      cursor[step.partition] = (cursor[step.partition] as number) + step.drift
      const base = cursor[step.partition] as number
      // Coarse timestamps (multiples of 5) make duplicates common.
      const events = step.events.map((event) => ({
        id: id++,
        time: Math.max(0, Math.round((base + event.jitter) / 5) * 5),
        user: `u${event.user}`,
        value: event.value,
      }))
      steps.push({ type: 'batch', partition: step.partition, now, events })
    }
    return steps
  })
}

export interface TableEntry<Values> {
  revision: number
  row: ResultRow<Values> | null
}

export function identity(windowStart: number, windowEnd: number, key: string): string {
  return `${windowStart}|${windowEnd}|${key}`
}

/**
 * What a ReplacingMergeTree ends up holding: per (windowStart, windowEnd, key) the highest revision,
 * with retractions as deletions. Throws if a revision for one identity ever fails to increase,
 * which is the ordering guarantee the sink relies on.
 */
export function replacingTable<Values>(emissions: readonly Emission<Click, Values>[]): Map<string, TableEntry<Values>> {
  const table = new Map<string, TableEntry<Values>>()
  for (const emission of emissions) {
    if (emission.kind !== 'result' && emission.kind !== 'retract') continue
    const id =
      emission.kind === 'result'
        ? identity(emission.row.windowStart, emission.row.windowEnd, emission.row.key)
        : identity(emission.windowStart, emission.windowEnd, emission.key)
    const revision = emission.kind === 'result' ? emission.row.revision : emission.revision
    const previous = table.get(id)
    if (previous !== undefined && revision <= previous.revision) {
      throw new Error(`revision ${revision} does not exceed ${previous.revision} for ${id}`)
    }
    table.set(id, { revision, row: emission.kind === 'result' ? emission.row : null })
  }
  return table
}

/** Stable text of emissions for byte-for-byte comparisons (keys in insertion order, -0 kept). */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (Object.is(item, -0) ? '-0' : item))
}
