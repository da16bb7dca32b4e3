import type { Stream } from '../../schemas/avro/catalog.ts'

export interface Refusal {
  readonly source: string
  /** 1-based line number in the source. */
  readonly line: number
  readonly reason: string
}

/** The event times an import touched in one stream: what a reprocess of the range has to cover. */
export interface TouchedRange {
  readonly stream: Stream
  readonly fromMs: number
  readonly toMs: number
  readonly events: number
}

/** How many refusals a summary lists; the rest are counted. */
export const LISTED_REFUSALS = 20

/**
 * What an import did, counted as it goes. Accepted events count once the bus (or ingest)
 * acknowledged them, or, in a dry run, once they validated.
 */
export class ImportTally {
  lines = 0
  accepted = 0
  duplicates = 0
  refused = 0
  readonly refusals: Refusal[] = []
  /** Inputs that broke off (a truncated gzip stream): each names the file and the last line read. */
  readonly inputErrors: string[] = []
  /** Why the import stopped before the end, when it did. */
  fatal: string | undefined
  private readonly ranges = new Map<Stream, { fromMs: number; toMs: number; events: number }>()

  refuse(source: string, line: number, reason: string): void {
    this.refused += 1
    if (this.refusals.length < LISTED_REFUSALS) this.refusals.push({ source, line, reason })
  }

  accept(stream: Stream, times: readonly number[]): void {
    if (times.length === 0) return
    this.accepted += times.length
    const range = this.ranges.get(stream) ?? { fromMs: Infinity, toMs: -Infinity, events: 0 }
    for (const ts of times) {
      if (ts < range.fromMs) range.fromMs = ts
      if (ts > range.toMs) range.toMs = ts
    }
    range.events += times.length
    this.ranges.set(stream, range)
  }

  touched(): TouchedRange[] {
    return [...this.ranges].map(([stream, range]) => ({ stream, ...range }))
  }
}

/** 1 when the import could not finish, 2 when it finished but refused lines or could not read a file to its end, 0 when every line was taken. */
export function exitCode(tally: ImportTally): 0 | 1 | 2 {
  if (tally.fatal !== undefined) return 1
  return tally.refused > 0 || tally.inputErrors.length > 0 ? 2 : 0
}

const count = (value: number) => value.toLocaleString('en-US')

/** What the import did, for stdout: the counts and the ranges it touched. */
export function renderSummary(tally: ImportTally, options: { readonly dryRun: boolean }): string {
  const lines = [
    `${options.dryRun ? 'dry run, nothing was sent: ' : ''}${count(tally.lines)} lines, ${count(tally.accepted)} ${options.dryRun ? 'valid' : 'accepted'}, ` +
      `${count(tally.refused)} refused, ${count(tally.duplicates)} duplicates in this file`,
  ]
  for (const range of tally.touched()) {
    lines.push(`  ${range.stream}: ${count(range.events)} events from ${new Date(range.fromMs).toISOString()} to ${new Date(range.toMs).toISOString()}`)
  }
  return lines.join('\n')
}

/**
 * What went wrong, for stderr (`FILE:LINE: reason`, as compilers say it): the first refusals, the
 * inputs that broke off, why the import stopped. Empty when nothing did.
 */
export function renderProblems(tally: ImportTally): string {
  const lines: string[] = []
  if (tally.refused > 0) {
    lines.push('refused:')
    for (const refusal of tally.refusals) lines.push(`  ${refusal.source}:${refusal.line}: ${refusal.reason}`)
    if (tally.refused > tally.refusals.length) lines.push(`  … and ${count(tally.refused - tally.refusals.length)} more`)
  }
  for (const error of tally.inputErrors) lines.push(`error: ${error}`)
  if (tally.fatal !== undefined) lines.push(`stopped: ${tally.fatal}`)
  return lines.join('\n')
}
