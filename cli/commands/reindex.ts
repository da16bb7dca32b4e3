import { join } from 'node:path'
import { parseInstant } from '../../api/period.ts'
import { KeyRing } from '../../core/auth/keys.ts'
import type { Config } from '../../core/config/index.ts'
import type { SearchStream } from '../../core/search/port.ts'
import { REINDEX_DEFAULTS, reindexSearch, type ReindexProgress, type ReindexSummary } from '../../core/search/reindex/reindex.ts'
import { progressLine } from '../../traffic/progress.ts'
import type { Command } from '../command.ts'
import { createRuntime, type Runtime } from '../runtime.ts'

const STREAMS: readonly SearchStream[] = ['log', 'notification']
const NOUN: Record<SearchStream, string> = { log: 'log lines', notification: 'notification events' }
/** Refused documents printed in full; the rest are counted, and all are in the report file. */
const REJECTIONS_SHOWN = 20

export const reindexCommand: Command = {
  name: 'reindex',
  summary: 'Backfill Elasticsearch from the raw logs and notifications in ClickHouse',
  developmentProject: true,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    stream: { type: 'string' },
    'write-key': { type: 'string' },
    batch: { type: 'string', default: String(REINDEX_DEFAULTS.batchSize) },
  },
  help: `Usage: eddy reindex --from T --to T [--stream log|notification] [--write-key KEY] [--batch N]

Copies the raw log lines and notification events of an event-time range from ClickHouse into
Elasticsearch (ELASTICSEARCH_URL), as the processors index them live: the same documents, the same
monthly indices, the same ids. For when Elasticsearch is turned on after data already exists.
Running it again, or over documents indexed live, changes nothing.

Resumable: an interrupted run (Ctrl-C, kill) records how far it got in the data dir; the same
command again continues from there. Progress goes to stderr. Documents Elasticsearch refuses are
listed there and in a report file in the data dir.

Exit code: 0 every document indexed, 2 Elasticsearch refused some (the rest are indexed), 1 the
reindex failed (run it again to continue).

  --from       start of the range (inclusive): 2026-11-01 (a UTC day) or 2026-11-01T10:00:00Z
  --to         end of the range (exclusive; a date means the end of that UTC day)
  --stream     only log or notification (default both)
  --write-key  only this write key's project (default: every configured project)
  --batch      documents per _bulk request (default ${REINDEX_DEFAULTS.batchSize})

On the embedded ClickHouse (no CLICKHOUSE_URL) the engine lives in \`eddy start\`'s process: stop
it first, or reindex against a ClickHouse server.`,
  async run({ config, logger, values, print }) {
    if (!config.elasticsearchUrl) {
      throw new Error('eddy reindex needs ELASTICSEARCH_URL: it copies raw events from ClickHouse into Elasticsearch, and none is configured. Set ELASTICSEARCH_URL to the cluster the processors will index into.')
    }
    const { fromMs, toMs } = range(values.from, values.to)
    const streams = streamsOf(values.stream)
    const projectIds = projectsOf(config, values['write-key'])
    const batchSize = Number(values.batch)
    if (!Number.isSafeInteger(batchSize) || batchSize <= 0) throw new Error(`--batch must be a positive whole number, got ${JSON.stringify(values.batch)}`)

    const runtime = createRuntime(config, logger)
    try {
      const progress = streamProgress()
      const summaries = await reindexSearch({
        clickhouse: await openClickHouse(runtime, config),
        database: config.clickhouse.database,
        elasticsearch: runtime.elasticsearch()!,
        indexPrefix: config.topics.prefix,
        progressDirectory: join(config.dataDir, 'reindex'),
        logger,
      }, {
        streams, fromMs, toMs, projectIds, batchSize,
        onProgress: progress.update,
        onRejected: (stream, documents) => progress.rejected(stream, documents),
      })
      progress.finish()
      for (const summary of summaries) print(summaryLine(summary))
      const refused = refusalReport(summaries)
      if (refused) process.stderr.write(`${refused}\n`)
      return reindexExitCode(summaries)
    } finally {
      await runtime.close()
    }
  },
}

/**
 * 2 when Elasticsearch refused documents (the run finished and the rest are indexed, as an import
 * that refused lines), 0 when it took every one; a fatal error throws, which exits 1.
 */
export function reindexExitCode(summaries: readonly ReindexSummary[]): 0 | 2 {
  return summaries.some((summary) => summary.rejectedPath !== undefined) ? 2 : 0
}

function refusalReport(summaries: readonly ReindexSummary[]): string {
  const paths = summaries.flatMap((summary) => (summary.rejectedPath === undefined ? [] : [summary.rejectedPath]))
  return paths.length === 0 ? '' : `Elasticsearch refused some documents; they are listed in ${paths.join(' and ')}`
}

/** The embedded engine takes a lock on its data dir: say who most likely holds it. */
async function openClickHouse(runtime: Runtime, config: Readonly<Config>) {
  try {
    return await runtime.clickhouse()
  } catch (error) {
    if (config.clickhouse.url) throw error
    throw new Error(`could not open the embedded ClickHouse in ${config.dataDir} (${(error as Error).message}); if \`eddy start\` is running on it, stop it first, or run eddy reindex against CLICKHOUSE_URL`, { cause: error })
  }
}

function range(from: unknown, to: unknown): { fromMs: number; toMs: number } {
  if (typeof from !== 'string' || typeof to !== 'string') throw new Error('--from and --to are required: the event-time range to reindex')
  const fromMs = instant(from, 'from')
  const toMs = instant(to, 'to')
  if (!(fromMs < toMs)) throw new Error(`--to (${new Date(toMs).toISOString()}) must be after --from (${new Date(fromMs).toISOString()})`)
  return { fromMs, toMs }
}

/** The api's instants (a resume is keyed by the range, so times are absolute: no "24h ago"). */
function instant(text: string, field: 'from' | 'to'): number {
  try {
    return parseInstant(text, 'UTC', field)
  } catch {
    throw new Error(`--${field} must be an ISO 8601 date (2026-11-22, a whole UTC day) or a date-time with its zone (2026-11-22T10:00:00Z), got ${JSON.stringify(text)}`)
  }
}

function streamsOf(value: unknown): readonly SearchStream[] {
  if (value === undefined) return STREAMS
  const stream = STREAMS.find((name) => name === value)
  if (!stream) throw new Error(`--stream must be log or notification, got ${JSON.stringify(value)}`)
  return [stream]
}

/**
 * The projects come from keys: a write key's project, or every configured project (with only
 * EDDY_WRITE_KEY configured, that is its one project). Raw rows of a project no key belongs to
 * any more are not reindexed.
 */
function projectsOf(config: Readonly<Config>, writeKey: unknown): readonly string[] {
  if (writeKey !== undefined) {
    const projectId = new KeyRing(config.projects).projectFor(String(writeKey), 'write')
    if (!projectId) throw new Error('--write-key is not the write key of any configured project')
    return [projectId]
  }
  const projectIds = config.projects.map((project) => project.id)
  if (projectIds.length === 0) throw new Error('no project is configured: set EDDY_PROJECTS or EDDY_WRITE_KEY')
  return projectIds
}

/** One progress line per stream on stderr: documents, rate, and the ETA from the range's count. */
function streamProgress() {
  let current: { stream: SearchStream; line: ReturnType<typeof progressLine>; started: number } | undefined
  let shown = 0
  let unshown = 0
  const finishCurrent = () => {
    current?.line.done('done')
    current = undefined
  }
  return {
    update(progress: ReindexProgress) {
      if (current?.stream !== progress.stream) {
        finishCurrent()
        current = { stream: progress.stream, line: progressLine(`reindex ${NOUN[progress.stream]}`), started: performance.now() }
      }
      const seconds = (performance.now() - current.started) / 1_000
      const rate = seconds > 0 ? progress.done / seconds : 0
      const eta = rate > 0 ? `ETA ${duration((progress.total - progress.done) / rate)}` : ''
      const resumed = progress.resumedAfter > 0 ? `(resumed after ${progress.resumedAfter.toLocaleString('en-US')})` : ''
      const rejected = progress.rejected > 0 ? `${progress.rejected.toLocaleString('en-US')} refused` : ''
      current.line.update(progress.done, progress.total, [eta, rejected, resumed].filter(Boolean).join(' '))
    },
    rejected(stream: SearchStream, documents: readonly { eventId: string; projectId: string; ts: number; reason: string }[]) {
      for (const document of documents) {
        if (shown >= REJECTIONS_SHOWN) {
          unshown += 1
          continue
        }
        shown += 1
        process.stderr.write(`\nrefused ${stream} ${document.projectId}/${document.eventId} at ${new Date(document.ts).toISOString()}: ${document.reason}\n`)
      }
    },
    finish() {
      finishCurrent()
      if (unshown > 0) process.stderr.write(`…and ${unshown.toLocaleString('en-US')} more refused documents (see the report file)\n`)
    },
  }
}

function duration(seconds: number): string {
  const whole = Math.ceil(seconds)
  if (whole < 60) return `${whole}s`
  if (whole < 3_600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`
  return `${Math.floor(whole / 3_600)}h${String(Math.floor((whole % 3_600) / 60)).padStart(2, '0')}m`
}

function summaryLine(summary: ReindexSummary): string {
  const resumed = summary.resumedAfter > 0 ? ` (continuing an interrupted run that had indexed ${summary.resumedAfter.toLocaleString('en-US')})` : ''
  return `Reindexed ${(summary.done - summary.rejected).toLocaleString('en-US')} ${NOUN[summary.stream]}${resumed}; ${summary.rejected.toLocaleString('en-US')} refused.`
}
