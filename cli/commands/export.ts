import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import pino from 'pino'
import type { Command } from '../command.ts'
import { createRuntime, type Runtime } from '../runtime.ts'
import { exportEvents, type ExportOptions } from '../transfer/exporter.ts'
import { parseStream, parseTime, projectOfWriteKey, runningEddyUrl, UsageError } from '../transfer/operator-options.ts'
import { stderrProgress } from '../transfer/progress.ts'

export const exportCommand: Command = {
  name: 'export',
  summary: 'Write a range of raw events as NDJSON (Segment format for clicks)',
  developmentProject: true,
  options: {
    'write-key': { type: 'string' },
    stream: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    output: { type: 'string' },
  },
  help: `Usage: eddy export --stream click|log|notification --from T --to T [--write-key KEY] [--output FILE]

Writes the project's raw events with event times in [--from, --to) as NDJSON, in event-time
order, each stored event once: clicks as Segment calls (what \`eddy import\`, Segment's archives
and RudderStack read), logs and notifications in the shape /v1/logs and /v1/notifications take.
Times are ISO 8601 or epoch milliseconds. Data goes to stdout or --output; progress to stderr.

  --write-key  the project's write key (default: the single configured project's, EDDY_WRITE_KEY)
  --output     write to this file instead of stdout

Exit code: 0 exported, 1 the export failed (what was written before is a prefix in time order).

On the embedded ClickHouse (no CLICKHOUSE_URL) the engine lives inside \`eddy start\`: stop it first.`,
  async run({ config, logger, values }) {
    const stream = parseStream(values.stream)
    if (!stream) throw new UsageError('--stream is required (click, log or notification)')
    const fromMs = parseTime(values.from, '--from')
    const toMs = parseTime(values.to, '--to')
    if (toMs <= fromMs) throw new UsageError('--to must be after --from')
    const { projectId } = projectOfWriteKey(config, values['write-key'] as string | undefined)
    if (!config.clickhouse.url && config.kafkaBrokers.length === 0 && runningEddyUrl(config) !== undefined) {
      throw new Error('the embedded ClickHouse belongs to the running `eddy start` (one process per data dir): stop it, or export from a ClickHouse server (CLICKHOUSE_URL)')
    }
    const toStdout = typeof values.output !== 'string'
    // The process logger writes JSON lines to stdout; among the exported lines they would be data
    // (a pino line has `service`, so an import would take it for a log event). With the data on
    // stdout, logs and the failure message go to stderr, and the failure is answered here.
    const log = toStdout ? pino({ level: logger.level, base: { service: 'eddy' } }, pino.destination({ fd: 2, sync: true })) : logger
    try {
      const output = toStdout ? process.stdout : await openOutput(values.output as string)
      const rows = await exportRange(createRuntime(config, log), { database: config.clickhouse.database, stream, projectId, fromMs, toMs, output })
      if (!toStdout) {
        output.end()
        await finished(output)
      }
      process.stderr.write(`export: ${rows.toLocaleString('en-US')} ${stream} events\n`)
    } catch (error) {
      if (!toStdout) throw error
      log.error({ err: error }, 'eddy export failed')
      process.stderr.write(`eddy export: ${(error as Error).message}\n`)
      return 1
    }
  },
}

/** The file opened before any query runs: a missing directory fails at once, as an error, not an unhandled 'error' event. */
async function openOutput(path: string): Promise<Writable> {
  const output = createWriteStream(path)
  await once(output, 'open')
  return output
}

async function exportRange(runtime: Runtime, range: Omit<ExportOptions, 'client' | 'onProgress'>): Promise<number> {
  const progress = stderrProgress('export')
  const started = performance.now()
  try {
    const rows = await exportEvents({
      ...range,
      client: await runtime.clickhouse(),
      onProgress: (rows) => progress.update(`${rows.toLocaleString('en-US')} rows ${Math.round(rows / ((performance.now() - started) / 1_000)).toLocaleString('en-US')}/s`),
    })
    progress.done()
    return rows
  } finally {
    await runtime.close()
  }
}
