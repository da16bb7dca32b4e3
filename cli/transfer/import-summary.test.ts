import { describe, expect, it } from 'vitest'
import { exitCode, ImportTally, LISTED_REFUSALS, renderProblems, renderSummary } from './import-summary.ts'

describe('import summary', () => {
  it('exits 0 when every line was taken, 2 when lines were refused or a file broke off, 1 when the import failed', () => {
    const clean = new ImportTally()
    clean.accept('click', [1, 2])
    expect(exitCode(clean)).toBe(0)
    const refused = new ImportTally()
    refused.refuse('a.ndjson', 3, 'is not valid JSON')
    expect(exitCode(refused)).toBe(2)
    const broken = new ImportTally()
    broken.inputErrors.push('b.gz: the gzip stream is truncated (after line 9; the lines up to it were read)')
    expect(exitCode(broken)).toBe(2)
    const failed = new ImportTally()
    failed.refuse('a.ndjson', 3, 'x')
    failed.fatal = 'the events could not be published'
    expect(exitCode(failed)).toBe(1)
  })

  it('lists the first refusals by file and line, counts the rest, and gives the touched range per stream', () => {
    const tally = new ImportTally()
    tally.lines = 40
    tally.duplicates = 2
    tally.accept('log', [Date.UTC(2026, 0, 2), Date.UTC(2026, 0, 1, 12)])
    for (let line = 1; line <= LISTED_REFUSALS + 5; line++) tally.refuse('logs.ndjson', line, `reason ${line}`)
    const text = renderSummary(tally, { dryRun: false })
    expect(text).toContain('40 lines, 2 accepted, 25 refused, 2 duplicates in this file')
    expect(text).toContain('log: 2 events from 2026-01-01T12:00:00.000Z to 2026-01-02T00:00:00.000Z')
    expect(text).not.toContain('logs.ndjson')
    const problems = renderProblems(tally)
    expect(problems).toContain('logs.ndjson:1: reason 1')
    expect(problems).toContain(`logs.ndjson:${LISTED_REFUSALS}: reason ${LISTED_REFUSALS}`)
    expect(problems).not.toContain(`logs.ndjson:${LISTED_REFUSALS + 1}:`)
    expect(problems).toContain('… and 5 more')
    expect(renderSummary(tally, { dryRun: true })).toContain('dry run, nothing was sent: 40 lines, 2 valid')
  })

  it('has nothing to say on stderr when every line was taken', () => {
    const clean = new ImportTally()
    clean.lines = 2
    clean.accept('click', [1, 2])
    expect(renderProblems(clean)).toBe('')
  })
})
