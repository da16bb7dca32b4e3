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
  /** The row, or rows when one window state stands for several (a breakdown). */
  toRow: (row: ResultRow<Values>) => Row | readonly Row[] | undefined,
  original: ((event: In) => unknown) | undefined,
  onRetract?: (retraction: { windowStart: number; windowEnd: number; key: string; revision: number }) => Row,
): void {
  for (const emission of emissions) {
    switch (emission.kind) {
      case 'result': {
        const row = toRow(emission.row)
        if (Array.isArray(row)) for (const each of row) emit(outputs, output, each)
        else if (row) emit(outputs, output, row as Row)
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
  let key = ''
  for (let index = 0; index < parts.length; index++) key += (index === 0 ? '' : '\t') + keyPart(parts[index]!)
  return key
}

/** A part as joinKey writes it: tabs become spaces. On the hot path, so it only scans unless there is one. */
export const keyPart = (part: string): string => (part.includes('\t') ? part.replaceAll('\t', ' ') : part)
