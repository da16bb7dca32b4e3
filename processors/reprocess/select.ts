import type { Row } from '../job.ts'
import type { Slice } from './plan.ts'
import type { ReplayRows } from './replay.ts'
import { rowKey, type ReprocessTable } from './tables.ts'

/**
 * Reprocessed rows outrank every row the live job writes (2 × events + 1 stays far below 2^52),
 * and a later reprocess outranks an earlier one: the generation is when it was planned, in ms.
 * Below 2^53, so the revision is exact as a JavaScript number.
 */
export const REPROCESS_REVISION_BASE = 2 ** 52

export function reprocessRevision(generationMs: number): number {
  if (!(Number.isInteger(generationMs) && generationMs >= 0 && generationMs < 2 ** 52)) throw new RangeError(`a reprocess generation must be a time in ms, got ${generationMs}`)
  return REPROCESS_REVISION_BASE + generationMs
}

/** Where the live job stands, per input partition: how far event time has moved there (ms). */
export type LiveHorizon = (partition: number) => number

export interface SelectionContext {
  readonly slice: Slice
  readonly partitions: number
  readonly horizon: LiveHorizon
  /** The live job's allowed lateness: a window takes late events until its end plus this. */
  readonly allowedLatenessMs: number
  readonly revision: number
}

export interface Selection {
  readonly write: Map<string, Row[]>
  /** Rows of windows the live job still accepts events for: left to it, reprocessed later if late data comes. */
  readonly stillOpen: number
  /** Rows whose events may go on past what was read (a session longer than the reach). */
  readonly incomplete: number
}

/**
 * The rows of a replay that replace the live job's: those starting in the slice, whose events
 * were all read, and that the live job will never write again, because its watermark on their
 * partition is past their window's end plus the allowed lateness. A row still open live is left
 * alone: the live job would go on adding events below the reprocess's revision, and lose them.
 */
export function selectRows(tables: readonly ReprocessTable[], replayed: ReplayRows, context: SelectionContext): Selection {
  const write = new Map<string, Row[]>()
  let stillOpen = 0
  let incomplete = 0
  for (const table of tables) {
    const rows = replayed.get(table.table)
    if (rows === undefined) continue
    const chosen: Row[] = []
    for (const row of rows.values()) {
      const start = table.startMs(row)
      if (start < context.slice.fromMs || start >= context.slice.toMs) continue
      const complete = table.completeAtMs(row)
      if (complete > context.slice.followToMs) incomplete++
      else if (!closedLive(table, row, complete, context)) stillOpen++
      else chosen.push({ ...row, revision: context.revision, final: 1 })
    }
    write.set(table.table, chosen)
  }
  return { write, stillOpen, incomplete }
}

function closedLive(table: ReprocessTable, row: Row, completeAtMs: number, context: SelectionContext): boolean {
  return completeAtMs + context.allowedLatenessMs <= context.horizon(table.partitionOf(row, context.partitions))
}

/**
 * Tombstones for live rows the recomputation no longer has: a key of a closed window with no
 * events left in it (a partition count that changed, a path through a page that came late), or a
 * session the late events merged into an earlier one. A session is only cancelled when the
 * reprocess writes the session that now covers it; otherwise its events would count nowhere.
 */
export function tombstones(table: ReprocessTable, existing: readonly Row[], written: readonly Row[], context: SelectionContext): Row[] {
  const reproduced = new Set(written.map((row) => rowKey(table, row)))
  const covers = table.cancels === 'covered-sessions' ? sessionCoverage(written) : undefined
  const out: Row[] = []
  for (const row of existing) {
    if (reproduced.has(rowKey(table, row))) continue
    if (covers !== undefined) {
      if (!covers(row)) continue
    } else {
      const start = table.startMs(row)
      if (start < context.slice.fromMs || start >= context.slice.toMs) continue
      if (!closedLive(table, row, table.completeAtMs(row), context)) continue
    }
    const key: Row = {}
    for (const column of table.key) key[column.name] = row[column.name]
    out.push(table.tombstone(key, context.revision))
  }
  return out
}

/** Whether a live session's start lies inside a session this reprocess writes for the same visitor. */
function sessionCoverage(written: readonly Row[]): (row: Row) => boolean {
  const byVisitor = new Map<string, Array<[number, number]>>()
  for (const row of written) {
    const visitor = `${String(row.project_id)}\u0000${String(row.anonymous_id)}`
    let spans = byVisitor.get(visitor)
    if (spans === undefined) byVisitor.set(visitor, (spans = []))
    spans.push([Number(row.session_start), Number(row.session_end)])
  }
  return (row) => {
    const spans = byVisitor.get(`${String(row.project_id)}\u0000${String(row.anonymous_id)}`)
    const start = Number(row.session_start)
    return spans !== undefined && spans.some(([from, to]) => from <= start && start <= to)
  }
}
