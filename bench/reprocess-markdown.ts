/** The reprocess section of the bench's markdown (issue 18's figures), kept beside its figures. */
import type { MarkerFreshness } from './marker-freshness.ts'
import type { ReprocessFigures } from './reprocess.ts'
import type { Summary } from './stats.ts'

const number = (value: number) => value.toLocaleString('en-US')
const fmt = (s: Summary) => `${number(s.median)} (${number(s.min)}–${number(s.max)})`
const freshness = (label: string, f: MarkerFreshness) => `| ${label} | ${number(f.samples)} | ${number(f.p50Ms)} | ${number(f.p99Ms)} | ${number(f.maxMs)} | ${number(f.notSeen)} |`

export function renderReprocess(figures: ReprocessFigures): string[] {
  const { throughput: t, importVsIngest: i, lateCorrection: l } = figures
  return [
    '## Reprocess, import and late data (issue 18; embedded: ingest + processors + api + chDB in one process)', '',
    `${number(t.rawEvents)} raw events of the traffic model over ${t.spanHours} h of event time ending ${t.endsHoursAgo} h ago, imported onto the embedded log before the processors started, then an event now on every partition so the live jobs close every window. One run, even in a full run (the million-event part takes minutes): not a median.`, '',
    '| figure | value |', '|---|---|',
    `| live processors working off that backlog, events/s (committed offsets, polled every 250 ms, until every group caught up) | ${number(t.liveEventsPerSec)} (${t.liveSeconds} s) |`,
    `| \`eddy reprocess\` of the whole range alone (runReprocess), events read/s | ${number(t.reprocessEventsPerSec)} (${number(t.reprocessEventsRead)} events in ${t.reprocessSeconds} s, ${number(t.reprocessRows)} rows written, ${number(t.reprocessLeftToLive)} left to the live jobs) |`,
    `| the same per raw event in the range (reads overlap a little at slice edges), events/s | ${number(t.reprocessRawEventsPerSec)} |`,
    `| reprocess (events read) / live processors | ${t.ratio} |`,
    `| reprocess under the live traffic below, events read/s | ${number(t.reprocessEventsPerSecUnderLoad)} (${t.passesDuringFreshness} pass(es)) |`,
    '',
    `Freshness of live traffic (${number(t.freshnessAlone.offeredEventsPerSec)} events/s offered by a child process, 202 → marker visible in clicks_1m, polled every 50 ms), on the same pipeline after the reprocess above; during the reprocess, passes of the same range run back to back in the pipeline's process for at least as long, and only markers accepted while they ran count. The reprocess's reads and writes, the live sink's inserts and the marker polls share the one in-process chDB and the process's event loop.`, '',
    '| live traffic | markers | p50 ms | p99 ms | max ms | not seen |', '|---|---|---|---|---|---|',
    freshness(`no reprocess running (${t.freshnessAlone.seconds} s)`, t.freshnessAlone),
    freshness(`while a reprocess runs (${t.freshnessDuringReprocess.seconds} s)`, t.freshnessDuringReprocess),
    '',
    `Import: ${number(i.events)} clicks written once as an NDJSON file of Segment calls; \`eddy import\`'s path (importLines reading the file, publishing onto the embedded log of a fresh runtime) against the same events sent to a running ingest's /v1/batch at batch 100 by a child process, ${i.concurrency} requests in flight (ingest's per-key rate limit off). Each counted until its last event was acknowledged, a fresh data dir per side, sides alternated over ${i.importEventsPerSec.runs} run(s).`, '',
    '| path | events/s |', '|---|---|',
    `| eddy import → bus | ${fmt(i.importEventsPerSec)} |`,
    `| ingest /v1/batch | ${fmt(i.ingestEventsPerSec)} |`,
    `| import / ingest | ${i.ratio} |`,
    '',
    `Late record → window corrected, automatic convergence on (EDDY_CONVERGENCE_QUIET_MS default): ${l.samples} samples, each 50 pageviews into a minute 20 minutes or more ago whose window the live job had closed, timed from their 202 until clicks_1m (FINAL, summed over partitions) for that minute equals the raw count, polled every 250 ms. Corrected: ${l.corrected}/${l.samples}; seconds ${l.seconds.join(', ') || '—'}; p50 ${number(l.p50Seconds)} s, max ${number(l.maxSeconds)} s. eddy_convergence_late_to_corrected_seconds{stream="click"}: ${number(l.histogramCount)} observation(s), mean ${number(l.histogramMeanSeconds)} s.`,
    '',
  ]
}
