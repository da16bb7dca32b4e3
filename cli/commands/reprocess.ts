import { join } from 'node:path'
import type avro from 'avsc'
import { fileAvroInsert, httpAvroInsert } from '../../core/clickhouse/avro-insert.ts'
import { tableRowType } from '../../core/clickhouse/avro-row-type.ts'
import { DEFAULT_CLICKSTREAM } from '../../processors/jobs/clickstream.ts'
import { defaultJobs } from '../../processors/jobs/index.ts'
import { DEFAULT_EVENT_TIME } from '../../processors/operators/settings.ts'
import { clickHouseReprocessSource } from '../../processors/reprocess/clickhouse-source.ts'
import { fileJournal, type ReprocessJournal } from '../../processors/reprocess/journal.ts'
import { reprocess, type ReprocessProgress, type ReprocessRequest, type ReprocessSummary } from '../../processors/reprocess/reprocess.ts'
import type { ReprocessSettings } from '../../processors/reprocess/tables.ts'
import { ClickHouseBatchWriter } from '../../processors/sinks/clickhouse-batch-writer.ts'
import type { Command } from '../command.ts'
import type { Runtime } from '../runtime.ts'
import { createRuntime } from '../runtime.ts'
import { parseStream, parseTime, projectOfWriteKey, runningEddyUrl, UsageError } from '../transfer/operator-options.ts'
import { stderrProgress } from '../transfer/progress.ts'
import { reprocessOverHttp } from '../transfer/reprocess-over-http.ts'

/** The settings the live jobs run with (defaultJobs): a reprocess must judge windows as they do. */
export const LIVE_REPROCESS_SETTINGS: ReprocessSettings = { click: DEFAULT_CLICKSTREAM, eventTime: DEFAULT_EVENT_TIME }

export const reprocessCommand: Command = {
  name: 'reprocess',
  summary: 'Recompute the aggregates of a time range from the raw events (late and imported data)',
  developmentProject: true,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    stream: { type: 'string' },
    'write-key': { type: 'string' },
    url: { type: 'string' },
  },
  help: `Usage: eddy reprocess --from T --to T [--stream click|log|notification] [--write-key KEY]

Recomputes every aggregate of [--from, --to) (widened to whole windows, and for sessions and
paths to the gaps that reach into it) by running the processors' own jobs over the raw events in
event-time order; the rows replace what the live jobs wrote, late and imported events included.
Windows the live jobs still accept events for are left to them. Running it twice gives the same
rows; a run killed midway goes on where it stopped when started again with the same options.
Times are ISO 8601 or epoch milliseconds. Progress goes to stderr.

  --stream     one stream (default: all three)
  --write-key  only the project of this write key (default: every project)
  --url        run it inside the Eddy process at this URL (its operator endpoint, with the
               first of EDDY_OPERATOR_KEYS); the default when \`eddy start\` holds the
               embedded log and ClickHouse of this data dir, which it then runs in`,
  async run({ config, logger, values, print }) {
    const fromMs = parseTime(values.from, '--from')
    const toMs = parseTime(values.to, '--to')
    if (toMs <= fromMs) throw new UsageError('--to must be after --from')
    const stream = parseStream(values.stream)
    const writeKey = values['write-key'] as string | undefined
    const projectId = writeKey === undefined ? undefined : projectOfWriteKey(config, writeKey).projectId
    const progress = stderrProgress('reprocess')
    const onProgress = (update: ReprocessProgress) => progress.update(describeProgress(update))
    // The embedded ClickHouse lives inside the process holding the data dir's log: it runs there.
    const url = typeof values.url === 'string' ? values.url.replace(/\/$/, '') : config.clickhouse.url ? undefined : runningEddyUrl(config)
    const request = { fromMs, toMs, ...(stream ? { stream } : {}) }
    let summary: ReprocessSummary
    if (url !== undefined) {
      const operatorKey = config.operatorKeys[0]
      if (operatorKey === undefined) throw new UsageError('set EDDY_OPERATOR_KEYS: the running process takes a reprocess from an operator key')
      process.stderr.write(`reprocess: running inside the Eddy process at ${url}\n`)
      summary = await reprocessOverHttp({ baseUrl: url, operatorKey, request: { ...request, ...(writeKey ? { writeKey } : {}) }, onProgress })
    } else {
      const runtime = createRuntime(config, logger)
      try {
        summary = await runReprocess(runtime, { ...request, ...(projectId ? { projectId } : {}) }, { onProgress })
      } finally {
        await runtime.close()
      }
    }
    progress.done()
    for (const line of describeSummary(summary)) print(line)
  },
}

/** Wires a reprocess to this deployment's ClickHouse, jobs and partition count, and runs it. */
export async function runReprocess(
  runtime: Runtime,
  request: ReprocessRequest,
  options: { readonly onProgress?: (progress: ReprocessProgress) => void; readonly journal?: ReprocessJournal; readonly signal?: AbortSignal } = {},
): Promise<ReprocessSummary> {
  const { onProgress } = options
  const { config, logger } = runtime
  const client = await runtime.clickhouse()
  const database = config.clickhouse.database
  const rowTypes = new Map<string, avro.Type>()
  const writer = new ClickHouseBatchWriter({
    maxBatchRows: config.sink.maxBatchRows,
    flushIntervalMs: config.sink.flushIntervalMs,
    logger: logger.child({ component: 'reprocess' }),
    insertAvro: config.clickhouse.url ? httpAvroInsert(client) : fileAvroInsert(client, join(config.dataDir, 'clickhouse-staging')),
  })
  const partitions = config.kafkaBrokers.length > 0 ? (await (await runtime.bus()).admin().topicOffsets(config.topics.click)).length : config.topics.partitions
  try {
    return await reprocess(request, {
      source: clickHouseReprocessSource(client, database),
      write: async (table, rows) => {
        let type = rowTypes.get(table)
        if (type === undefined) rowTypes.set(table, (type = await tableRowType(client, database, table)))
        await writer.writeRows(`${database}.${table}`, type, rows, { prompt: true })
      },
      jobs: defaultJobs(),
      partitions,
      settings: LIVE_REPROCESS_SETTINGS,
      clock: Date.now,
      journal: options.journal ?? fileJournal(join(config.dataDir, 'reprocess')),
      retentionMs: config.retentionDays * 86_400_000,
      ...(onProgress ? { progress: onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    })
  } finally {
    await writer.close()
  }
}

const count = (value: number) => value.toLocaleString('en-US')

/** `click: slice 2/4, 120,000 of 450,000 events (26%), 3,400 rows, 25,000 events/s, ETA 13s` */
export function describeProgress(progress: ReprocessProgress): string {
  const seconds = progress.elapsedMs / 1_000
  const rate = seconds > 0 ? progress.events / seconds : 0
  const fraction = progress.eventsTotal > 0 ? Math.min(1, progress.events / progress.eventsTotal) : progress.slices / Math.max(1, progress.slicesTotal)
  const eta = rate > 0 && progress.eventsTotal > 0 ? ` ETA ${Math.max(0, Math.ceil((progress.eventsTotal - progress.events) / rate))}s` : ''
  return `${progress.stream}: slice ${progress.slices}/${progress.slicesTotal}, ${count(progress.events)} of ${count(progress.eventsTotal)} events (${Math.floor(fraction * 100)}%), ${count(progress.rows)} rows, ${count(Math.round(rate))} events/s${eta}`
}

export function describeSummary(summary: ReprocessSummary): string[] {
  const lines = [`reprocess ${summary.resumed ? 'resumed and finished' : 'finished'} (revision generation ${summary.generation})`]
  for (const [stream, totals] of Object.entries(summary.streams)) {
    const left = totals.stillOpen + totals.incomplete
    lines.push(`  ${stream}: ${count(totals.events)} events in ${totals.slices} slices, ${count(totals.rows)} rows written, ${count(totals.tombstones)} cancelled` +
      (left > 0 ? `, ${count(left)} left to the live job (${count(totals.stillOpen)} in windows still open, ${count(totals.incomplete)} longer than the reach)` : '') +
      (totals.notCounted > 0 ? `, ${count(totals.notCounted)} events not counted (invalid or over a state bound)` : '') +
      (totals.emptySlices > 0 ? `, ${totals.emptySlices} slices without raw events left as they were` : ''))
  }
  return lines
}
