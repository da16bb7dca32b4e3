/**
 * The processors on the embedded path and on the distributed one, side by side in one run, each
 * with a CPU profile of its drain (issue 19: where the Kafka path's time goes). The same events,
 * the same jobs; the embedded run reads the embedded log and writes chDB in-process, the
 * distributed one reads Kafka and writes ClickHouse over HTTP.
 *
 *   bash -c 'source infra/kafka/ci-env.sh && source infra/clickhouse/ci-env.sh && \
 *     node --expose-gc --max-semi-space-size=32 --import tsx bench/processors-paths.ts [--events N] [--runs N] [--no-pin]'
 *
 * With two cores or more the broker and ClickHouse are pinned to the last core and this process
 * to the others (taskset), so the processors' figure is theirs, not what the services leave them;
 * the CPU seconds each service took during a run are in the results.
 *
 * Writes bench/results/<date>-processors-paths.json (figures and profile summaries by area and by
 * function) and keeps the .cpuprofile files beside it (gzipped) for DevTools or speedscope.
 */
import { createReadStream, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { createGzip } from 'node:zlib'
import { log, throttled } from './log.ts'
import { benchProcessors, type ProcessorFigure } from './processors.ts'
import { summariseProfile, type ProfileSummary } from './profile-summary.ts'
import { cpuSecondsOf, pinServicesAway, servicesAt } from './service-processes.ts'

const { values } = parseArgs({ options: { events: { type: 'string', default: '400000' }, runs: { type: 'string', default: '2' }, 'no-pin': { type: 'boolean', default: false }, out: { type: 'string', default: join(import.meta.dirname, 'results') } } })
const brokers = process.env.KAFKA_BROKERS
const clickhouseUrl = process.env.CLICKHOUSE_URL
if (!brokers || !clickhouseUrl) throw new Error('set KAFKA_BROKERS and CLICKHOUSE_URL (source infra/kafka/ci-env.sh and infra/clickhouse/ci-env.sh)')

const services = servicesAt(brokers, clickhouseUrl)
const pinned = !values['no-pin'] && pinServicesAway(services) !== undefined
if (pinned) log('pinned: the broker and ClickHouse to the last CPU, the processors to the rest')
/** CPU seconds each service process and this one take from now until the returned function is called. */
function serviceCpu(): () => Record<string, number> {
  const watched = [...services, { name: 'processors', pid: process.pid }]
  const before = watched.map((each) => cpuSecondsOf(each.pid))
  return () => Object.fromEntries(watched.map((each, index) => [`${each.name}CpuSeconds`, Math.round((cpuSecondsOf(each.pid) - before[index]!) * 10) / 10]))
}

const events = Number(values.events)
const runs = Number(values.runs)
const date = new Date().toISOString().slice(0, 10)
const profiles = join(values.out, `${date}-processors-paths-profiles`)
mkdirSync(profiles, { recursive: true })

type Path = 'embedded' | 'kafka'
const figures: Record<Path, ProcessorFigure[]> = { embedded: [], kafka: [] }
const summaries: Record<Path, ProfileSummary[]> = { embedded: [], kafka: [] }
for (let run = 1; run <= runs; run++) {
  // Alternated, so a neighbour's load does not always fall on the same path.
  for (const path of (run % 2 === 1 ? ['embedded', 'kafka'] : ['kafka', 'embedded']) as Path[]) {
    log(`processors on the ${path} path: run ${run}/${runs}, ${events.toLocaleString('en-US')} events`)
    const profilePath = join(profiles, `${path}-${run}.cpuprofile`)
    const figure = await benchProcessors({ events, profilePath, onProgress: throttled(), alongside: serviceCpu, ...(path === 'kafka' ? { services: { brokers, clickhouseUrl } } : {}) })
    figures[path].push(figure)
    summaries[path].push(summariseProfile(profilePath))
    log(`${path}: ${figure.processingEventsPerSec.toLocaleString('en-US')} events/s processed, ${figure.steadyEventsPerSec.toLocaleString('en-US')} by raw rows written (${figure.eventsPerSec.toLocaleString('en-US')} wall, ${figure.startSeconds} s to the first commit), ${figure.eventsPerCpuSecond?.toLocaleString('en-US')} per CPU second of the thread, busy ${figure.busyShare}; CPU seconds over the drain ${JSON.stringify(figure.alongside)}`)
    await pipeline(createReadStream(profilePath), createGzip(), createWriteStream(`${profilePath}.gz`))
    rmSync(profilePath)
  }
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!
const result = {
  date: new Date().toISOString(),
  events,
  runs,
  pinned,
  note: 'ClickHouse over HTTP is infra/clickhouse/server.ts (chDB behind the HTTP protocol, in a process of its own), not a ClickHouse server; the embedded run has chDB in the processors\' process.',
  embedded: { figures: figures.embedded, profiles: summaries.embedded },
  kafka: { figures: figures.kafka, profiles: summaries.kafka },
  ratio: {
    processing: Math.round((median(figures.kafka.map((f) => f.processingEventsPerSec)) / median(figures.embedded.map((f) => f.processingEventsPerSec))) * 100) / 100,
    steady: Math.round((median(figures.kafka.map((f) => f.steadyEventsPerSec)) / median(figures.embedded.map((f) => f.steadyEventsPerSec))) * 100) / 100,
    wall: Math.round((median(figures.kafka.map((f) => f.eventsPerSec)) / median(figures.embedded.map((f) => f.eventsPerSec))) * 100) / 100,
    perCpuSecond: Math.round((median(figures.kafka.map((f) => f.eventsPerCpuSecond ?? 0)) / median(figures.embedded.map((f) => f.eventsPerCpuSecond ?? 1))) * 100) / 100,
  },
}
writeFileSync(join(values.out, `${date}-processors-paths.json`), `${JSON.stringify(result, null, 2)}\n`)
log(`kafka / embedded: ${result.ratio.processing}× processed, ${result.ratio.steady}× by raw rows written, ${result.ratio.wall}× wall clock, ${result.ratio.perCpuSecond}× per CPU second of the processors' thread`)
