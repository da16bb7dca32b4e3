import type { Row } from '../job.ts'
import { emit, type OutputRows } from '../job.ts'
import type { Emission, ResultRow } from '../window/index.ts'

/**
 * Routes a window operator's emissions: results through `toRow` to the job's output, late events
 * to 'late' (with why and how late), overflow and invalid events to 'late' too, since they were
 * not counted and must not vanish silently. Where several operators see the same event, only one
 * passes `original`; the others leave it out so 'late' gets each event once (their counters
 * still count it).
 */
export function routeEmissions<In, Values>(
  emissions: readonly Emission<In, Values>[],
  outputs: OutputRows,
  output: string,
  job: string,
  toRow: (row: ResultRow<Values>) => Row | undefined,
  original: ((event: In) => unknown) | undefined,
  onRetract?: (retraction: { windowStart: number; windowEnd: number; key: string; revision: number }) => Row,
): void {
  for (const emission of emissions) {
    switch (emission.kind) {
      case 'result': {
        const row = toRow(emission.row)
        if (row) emit(outputs, output, row)
        break
      }
      case 'retract':
        if (onRetract) emit(outputs, output, onRetract(emission))
        break
      case 'late':
        if (original) emit(outputs, 'late', { event: original!(emission.event), reason: emission.reason, latenessMs: emission.latenessMs, job })
        break
      case 'overflow':
        if (original) emit(outputs, 'late', { event: original!(emission.event), reason: `overflow:${emission.reason}`, latenessMs: 0, job })
        break
      case 'invalid':
        if (original) emit(outputs, 'late', { event: original!(emission.event), reason: `invalid:${emission.reason}`, latenessMs: 0, job })
        break
    }
  }
}

/** Milliseconds to ClickHouse DateTime seconds. */
export const seconds = (ms: number): number => Math.floor(ms / 1_000)

/** Splits a key made of tab-joined parts (tabs cannot occur in the parts we join). */
export const keyParts = (key: string): string[] => key.split('\t')
export function joinKey(...parts: string[]): string {
  // On the hot path (one key per event and dimension): only scan for tabs, replace if any.
  let key = ''
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index]!
    key += (index === 0 ? '' : '\t') + (part.includes('\t') ? part.replaceAll('\t', ' ') : part)
  }
  return key
}
