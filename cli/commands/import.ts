import { DEFAULT_MAX_NESTING_DEPTH } from '../../core/http/nesting.ts'
import { UserAgentParser } from '../../ingest/normalise/user-agent.ts'
import type { Command } from '../command.ts'
import { createRuntime } from '../runtime.ts'
import { exitCode, renderProblems, renderSummary, type TouchedRange } from '../transfer/import-summary.ts'
import type { ImportDestination } from '../transfer/destination.ts'
import { importLines } from '../transfer/importer.ts'
import { openLineSource, type LineSource } from '../transfer/line-reader.ts'
import { openDestination } from '../transfer/open-destination.ts'
import { parseStream, projectOfWriteKey, UsageError } from '../transfer/operator-options.ts'
import { describeImportProgress, stderrProgress } from '../transfer/progress.ts'

/**
 * What follows an import, given the ranges it touched: events older than the processors'
 * allowed lateness reach the late topic, and the pipeline's automatic convergence recomputes
 * their windows from the raw tables; where that is off, it says which `eddy reprocess` to run.
 */
export type AfterImport = (ranges: readonly TouchedRange[]) => Promise<void>

export const importCommand: Command = {
  name: 'import',
  summary: 'Import Segment-format and Eddy NDJSON files (also .gz, or - for stdin)',
  developmentProject: true,
  positionals: true,
  options: {
    'write-key': { type: 'string' },
    stream: { type: 'string' },
    url: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  },
  help: `Usage: eddy import [--write-key KEY] [--stream click|log|notification] [--url URL] [--dry-run] FILE…

Imports NDJSON files: Segment calls (what Segment's archives, RudderStack and \`eddy export\`
write) for clickstream, Eddy's log lines and notification events for the others, each line's
stream told by its fields unless --stream says. FILE may be gzip-compressed, or - for stdin.
Every line goes through ingest's validation and normalisation; messageId becomes the event_id,
so importing a file twice stores it once. Events keep their own times; older than the retention
is refused. A refused line never stops the import; the summary lists them by line.

  --write-key  the project's write key (default: the single configured project's, EDDY_WRITE_KEY)
  --stream     every line is of this stream
  --url        post to the ingest at this URL instead of the bus (default: the bus, or the
               running \`eddy start\` when it holds the embedded log)
  --dry-run    only validate; nothing is sent

The summary goes to stdout; refused lines (FILE:LINE: reason) and errors to stderr.
Exit code: 0 every line imported, 2 some lines refused (or a file broke off), 1 the import failed.`,
  async run({ config, logger, values, positionals, print }) {
    const files = positionals ?? []
    if (files.length === 0) throw new UsageError('name at least one FILE (or - for stdin)')
    const { writeKey, projectId } = projectOfWriteKey(config, values['write-key'] as string | undefined)
    const stream = parseStream(values.stream)
    const dryRun = values['dry-run'] === true
    const maxEventBytes = config.ingest.maxEventBytes
    // Every file is opened before anything is sent: a misspelt name fails the run, not its end.
    const sources: LineSource[] = []
    for (const file of files) sources.push(await openLineSource(file, { maxLineBytes: maxEventBytes }))
    const runtime = createRuntime(config, logger)
    const progress = stderrProgress('import')
    const started = performance.now()
    let destination: ImportDestination | undefined
    try {
      destination = dryRun ? undefined : await openDestination({
        runtime,
        writeKey,
        ...(typeof values.url === 'string' ? { url: values.url } : {}),
        onRetry: (reason) => logger.warn({ reason }, 'a batch was not acknowledged; retrying'),
      })
      if (destination) process.stderr.write(`import: publishing to ${destination.description}\n`)
      const afterImport: AfterImport = async (ranges) => {
        if (ranges.length === 0) return
        process.stderr.write(config.convergenceQuietMs > 0
          ? 'import: events older than the allowed lateness reach the aggregates once the processors have stored them: automatic convergence recomputes their windows\n'
          : 'import: automatic convergence is off (EDDY_CONVERGENCE_QUIET_MS=0): `eddy reprocess` of these ranges brings events older than the allowed lateness into the aggregates\n')
      }
      const tally = await importLines({
        sources,
        context: { projectId, bounds: { maxFutureMs: config.ingest.maxFutureMs, retentionMs: config.retentionDays * 86_400_000 }, userAgents: new UserAgentParser(), ...(stream ? { stream } : {}) },
        destination,
        maxNestingDepth: config.ingest.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH,
        maxEventBytes,
        onProgress: (update) => progress.update(describeImportProgress(update, performance.now() - started)),
        afterImport,
      })
      progress.done()
      print(renderSummary(tally, { dryRun }))
      const problems = renderProblems(tally)
      if (problems) process.stderr.write(`${problems}\n`)
      return exitCode(tally)
    } finally {
      await destination?.close()
      await runtime.close()
    }
  },
}
