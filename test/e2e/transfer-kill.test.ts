import type { ClickHouseClient } from '@clickhouse/client'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EDDY_NODE_FLAGS } from '../../cli/node-flags.ts'
import { segmentCall, type RawRow } from '../../cli/transfer/export-format.ts'
import { partitionForKey } from '../../core/bus/embedded/murmur2.ts'
import { createClickHouseClient } from '../../core/clickhouse/client.ts'
import { DEFAULT_CLICKSTREAM } from '../../processors/jobs/clickstream.ts'
import { DEFAULT_EVENT_TIME } from '../../processors/operators/settings.ts'
import { planSlices, streamReach } from '../../processors/reprocess/plan.ts'
import { STREAMS } from '../../schemas/avro/catalog.ts'
import { generateTraffic, type GeneratedEvent } from '../../traffic/generator.ts'
import { sendRequests, toRequests } from '../../traffic/sender.ts'
import { aggregateDifferences, aggregatesFromRaw, storedAggregates, type Aggregates } from '../support/aggregate-truth.ts'
import { EddyCommand } from '../support/eddy-command.ts'
import { EddyProcess, freePort } from '../support/eddy-process.ts'
import { eventually } from '../support/pipeline.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

/**
 * Issue 18: `eddy import` and `eddy reprocess` killed -9 midway, then run again, give exact
 * aggregates with nothing doubled. Both run as real child processes on a data dir with no
 * `eddy start` holding it: the import publishes onto the embedded log itself, the reprocess
 * opens the embedded ClickHouse itself.
 */

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const PARTITIONS = 4
const WRITE_KEY = 'kill-write-key-a'
const FLUSH_WRITE_KEY = 'kill-write-key-b'
const OPERATOR_KEY = 'kill-operator-key'
const count = (value: number) => value.toLocaleString('en-US')

const environment = (dataDir: string): Record<string, string> => ({
  EDDY_DATA_DIR: dataDir,
  EDDY_PARTITIONS: String(PARTITIONS),
  EDDY_OPERATOR_KEYS: OPERATOR_KEY,
  EDDY_PROJECTS: JSON.stringify([
    { id: 'alpha', writeKeys: [WRITE_KEY], readKeys: ['kill-read-key-a'] },
    { id: 'beta', writeKeys: [FLUSH_WRITE_KEY], readKeys: ['kill-read-key-b'] },
  ]),
  // As the suites' pipelines: what the live path makes of events is what is counted.
  EDDY_CONVERGENCE_QUIET_MS: '0',
})

const started: EddyCommand[] = []
const processes: EddyProcess[] = []
const directories: Array<{ remove(): void }> = []

afterEach(async () => {
  for (const command of started.splice(0)) await command.kill()
  for (const eddy of processes.splice(0)) await eddy.kill()
  for (const directory of directories.splice(0)) directory.remove()
})

function command(args: readonly string[], env: Record<string, string>, options?: { stdin?: boolean; terminalProgress?: boolean }): EddyCommand {
  const running = new EddyCommand(args, env, options)
  started.push(running)
  return running
}

function dataDirectory(prefix: string): string {
  const directory = temporaryDirectory(prefix)
  directories.push(directory)
  return directory.path
}

/** The operator's view of /api/v1/pipeline/health, as far as these tests read it. */
interface Health {
  readonly lag: number
  readonly consumers: readonly unknown[]
  readonly lateEvents: number
  readonly halted: readonly unknown[]
  readonly jobs: ReadonlyArray<{ readonly job: string; readonly partition: number; readonly stats: Readonly<Record<string, number>> }>
}

/** `eddy start` on the data dir until every consumer group committed everything; then stopped, so its ClickHouse can be opened here. */
async function processEverything(dataDir: string, send: (eddy: EddyProcess) => Promise<void>): Promise<Health> {
  const eddy = new EddyProcess(await freePort(), environment(dataDir))
  processes.push(eddy)
  await eddy.start(120_000)
  await send(eddy)
  const health = await eventually(async () => {
    const response = await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${OPERATOR_KEY}` } })
    return (await response.json()) as Health
  }, (answer) => answer.lag === 0 && answer.consumers.length > 0, 180_000)
  expect(health).toMatchObject({ lag: 0, halted: [] })
  await eddy.stop()
  return health
}

/** The data dir's embedded ClickHouse, opened in this process for `use` and closed again, so a child can open it next. */
async function withClickHouse<T>(dataDir: string, use: (clickhouse: ClickHouseClient) => Promise<T>): Promise<T> {
  const clickhouse = await createClickHouseClient({ dataDir, clickhouse: { database: 'eddy' } })
  try {
    return await use(clickhouse)
  } finally {
    await clickhouse.close()
  }
}

const rows = async <T>(clickhouse: ClickHouseClient, query: string) => (await clickhouse.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>()

/**
 * One event per partition of each stream at `atMs`, under the other project: every live
 * watermark moves past the test's events, so every window they are in is closed.
 */
async function sendFlush(eddy: EddyProcess, atMs: number): Promise<number> {
  const timestamp = new Date(atMs).toISOString()
  const events: GeneratedEvent[] = []
  for (let partition = 0; partition < PARTITIONS; partition++) {
    let n = 0
    while (partitionForKey(`flush-${n}`, PARTITIONS) !== partition) n++
    const key = `flush-${n}`
    events.push({ stream: 'click', ts: atMs, payload: { type: 'page', anonymousId: key, messageId: key, timestamp, properties: { url: 'https://flush.example/' } } })
    events.push({ stream: 'log', ts: atMs, payload: { id: key, timestamp, service: key, level: 'info', message: 'flush' } })
    events.push({ stream: 'notification', ts: atMs, payload: { notification_id: key, channel: 'email', provider: 'ses', template: 'flush', status: 'queued', timestamp } })
  }
  const result = await sendRequests(toRequests(events, 50), { baseUrl: eddy.url, writeKey: FLUSH_WRITE_KEY, batchSize: 50, concurrency: 1 })
  expect(result.rejected).toBe(0)
  return result.accepted
}

/** The last `import: N lines (M accepted, …` the child wrote. */
function importProgress(stderr: string): { lines: number; accepted: number } | undefined {
  const all = [...stderr.matchAll(/import: ([\d,]+) lines \(([\d,]+) accepted/g)]
  const last = all.at(-1)
  return last ? { lines: Number(last[1]!.replaceAll(',', '')), accepted: Number(last[2]!.replaceAll(',', '')) } : undefined
}

describe('eddy import killed -9 midway, then run again', () => {
  const EVENTS = 30_000
  const VISITORS = 1_500

  /** What `eddy export` writes for EVENTS clicks over two hours ending an hour ago, in time order: nine pageviews to a custom event. */
  function exportedClicks(): { lines: string[]; ids: string[]; pageviewsPerMinute: Map<string, number> } {
    const startMs = Date.now() - 3 * HOUR
    const lines: string[] = []
    const ids: string[] = []
    const pageviewsPerMinute = new Map<string, number>()
    for (let i = 0; i < EVENTS; i++) {
      const ts = startMs + Math.floor((i * 2 * HOUR) / EVENTS)
      const page = i % 10 !== 9
      const path = `/products/${i % 37}`
      const row: RawRow = {
        event_id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`, type: page ? 'pageview' : 'custom', name: page ? '' : 'Added to cart',
        ts, received_at: ts + 40, anonymous_id: `visitor-${i % VISITORS}`, user_id: '', session_id: '',
        url: `https://shop.example${path}`, path, title: 'Product', referrer: i % 3 === 0 ? 'https://www.google.com/' : '',
        utm_source: i % 5 === 0 ? 'newsletter' : '', utm_medium: '', utm_campaign: '', utm_term: '', utm_content: '',
        browser: 'Chrome', os: 'Mac OS', device_type: 'desktop', country: i % 2 === 0 ? 'NL' : 'DE', screen: '1440x900', locale: 'en-US', properties: {}, visitor_hash: '',
      }
      lines.push(JSON.stringify(segmentCall(row)))
      ids.push(row.event_id)
      if (page) {
        const minute = String(Math.floor(ts / MINUTE) * 60)
        pageviewsPerMinute.set(minute, (pageviewsPerMinute.get(minute) ?? 0) + 1)
      }
    }
    return { lines, ids, pageviewsPerMinute }
  }

  it('stores every event of the file once and counts each once in the aggregates', async () => {
    const dataDir = dataDirectory('import-kill')
    const env = environment(dataDir)
    const file = join(dataDir, 'clicks.ndjson')
    const { lines, ids, pageviewsPerMinute } = exportedClicks()
    writeFileSync(file, `${lines.join('\n')}\n`)

    // The first run reads the same lines from a pipe that never gives it the last thousand: it
    // cannot finish before the kill, however fast it is. Killed once a third is acknowledged,
    // with batches in flight and lines still coming.
    const first = command(['import', '--write-key', WRITE_KEY, '-'], env, { stdin: true, terminalProgress: true })
    const feeding = (async () => {
      for (let start = 0; start + 1_000 < lines.length && first.running; start += 1_000) {
        const chunk = `${lines.slice(start, start + 1_000).join('\n')}\n`
        // Backpressure: the next chunk once the child has read this one (or is gone: EPIPE).
        if (!first.child.stdin!.write(chunk)) await Promise.race([once(first.child.stdin!, 'drain').catch(() => {}), first.exited])
      }
    })()
    await first.untilStderr((stderr) => (importProgress(stderr)?.accepted ?? 0) >= EVENTS / 3)
    await first.kill()
    await feeding
    const killedAt = importProgress(first.stderr)!
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' })
    expect(killedAt.lines).toBeLessThan(EVENTS)
    expect(first.stdout).toBe('')

    // Run again, from the file, to the end: it knows nothing of the first run and sends every line.
    const second = command(['import', '--write-key', WRITE_KEY, file], env)
    expect(await second.exited, second.stderr).toEqual({ code: 0, signal: null })
    expect(second.stdout).toContain(`${count(EVENTS)} lines, ${count(EVENTS)} accepted, 0 refused, 0 duplicates`)

    const health = await processEverything(dataDir, async (eddy) => {
      await sendFlush(eddy, Date.now() - MINUTE)
    })
    // Every event the killed run had acknowledged reached the clickstream job a second time.
    const clickstream = health.jobs.filter((job) => job.job === 'clickstream')
    const seenTwice = clickstream.reduce((sum, job) => sum + (job.stats.duplicates ?? 0) + (job.stats.late ?? 0), 0)
    expect(clickstream).toHaveLength(PARTITIONS)
    expect(seenTwice).toBeGreaterThanOrEqual(killedAt.accepted)

    await withClickHouse(dataDir, async (clickhouse) => {
      const [raw] = await rows<{ rows: number; ids: number }>(clickhouse, "SELECT count() AS rows, uniqExact(event_id) AS ids FROM eddy.events_click FINAL WHERE project_id = 'alpha'")
      const [copies] = await rows<{ n: number }>(clickhouse, "SELECT count() AS n FROM eddy.events_click WHERE project_id = 'alpha'")
      console.info(`import-kill: ${JSON.stringify({ events: EVENTS, killedAt, seenTwice, rawRows: raw!.rows, unmergedCopies: copies!.n - raw!.rows })}`)
      expect(raw).toEqual({ rows: EVENTS, ids: EVENTS })
      const stored = await rows<{ id: string }>(clickhouse, "SELECT toString(event_id) AS id FROM eddy.events_click FINAL WHERE project_id = 'alpha' ORDER BY id")
      expect(stored.map((row) => row.id)).toEqual([...ids].sort())

      // Per minute, the total row of clicks_1m counts each of the file's pageviews once.
      const perMinute = await rows<{ k: string; n: number }>(clickhouse, `SELECT toString(toUnixTimestamp(window_start)) AS k, sum(pageviews) AS n
        FROM eddy.clicks_1m FINAL WHERE project_id = 'alpha' AND dimension = 'total' GROUP BY k`)
      const differences: string[] = []
      const storedPerMinute = new Map(perMinute.map((row) => [row.k, row.n]))
      for (const [minute, expected] of pageviewsPerMinute) if (storedPerMinute.get(minute) !== expected) differences.push(`${minute}: ${expected} pageviews in the file, ${storedPerMinute.get(minute)} stored`)
      for (const minute of storedPerMinute.keys()) if (!pageviewsPerMinute.has(minute)) differences.push(`${minute}: stored, not in the file`)
      expect(differences.slice(0, 10)).toEqual([])

      // And every aggregate equals its recomputation from the raw rows: visitors, sessions, paths.
      expect(aggregateDifferences(await aggregatesFromRaw(clickhouse, 'alpha'), await storedAggregates(clickhouse, 'alpha'))).toEqual({})
    })
  }, 300_000)
})

describe('eddy reprocess killed -9 midway, then run again', () => {
  const SETTINGS = { click: DEFAULT_CLICKSTREAM, eventTime: DEFAULT_EVENT_TIME }

  /**
   * The README's two demo runs (the second one half beyond the allowed lateness, so the live jobs
   * leave those events out) in two places seven hours apart, so the reprocess has raw events in
   * more than one of its six-hour slices; then an event per partition of each stream, now, closes
   * every window.
   */
  async function lateDemoRuns(dataDir: string): Promise<{ fromMs: number; toMs: number; regions: Array<{ fromMs: number; toMs: number }> }> {
    const laterEnd = Math.floor((Date.now() - 3 * HOUR) / MINUTE) * MINUTE
    const regions = [laterEnd - 7 * HOUR, laterEnd].map((endMs) => ({ fromMs: endMs - 30 * MINUTE, toMs: endMs }))
    let sent = 0
    const { lateEvents } = await processEverything(dataDir, async (eddy) => {
      const send = async (seed: number, region: { fromMs: number }, visitorPrefix: string) => {
        const events = generateTraffic({ seed, events: 3_000, startMs: region.fromMs, spanMs: 30 * MINUTE, visitorPrefix })
        const result = await sendRequests(toRequests(events, 50), { baseUrl: eddy.url, writeKey: WRITE_KEY, batchSize: 50, concurrency: 4 })
        expect(result.rejected).toBe(0)
        sent += result.accepted
      }
      for (const [index, region] of regions.entries()) {
        await send(42 + 2 * index, region, `r${index}-first-`)
        await send(43 + 2 * index, region, `r${index}-second-`)
      }
      sent += await sendFlush(eddy, Date.now() - MINUTE)
    })
    expect(lateEvents).toBeGreaterThan(500)
    await withClickHouse(dataDir, async (clickhouse) => {
      const [raw] = await rows<{ n: number }>(clickhouse, 'SELECT (SELECT count() FROM eddy.events_click FINAL) + (SELECT count() FROM eddy.events_log FINAL) + (SELECT count() FROM eddy.events_notification FINAL) AS n')
      expect(raw!.n).toBe(sent)
    })
    return { fromMs: regions[0]!.fromMs - 10 * MINUTE, toMs: regions[1]!.toMs + 5 * MINUTE, regions }
  }

  /** The journal of the one unfinished reprocess in the data dir, if any. */
  function journal(dataDir: string): { generation: number; done: string[] } | undefined {
    const directory = join(dataDir, 'reprocess')
    if (!existsSync(directory)) return undefined
    const [name] = readdirSync(directory).filter((entry) => entry.endsWith('.json'))
    return name === undefined ? undefined : JSON.parse(readFileSync(join(directory, name), 'utf8')) as { generation: number; done: string[] }
  }

  it('resumes at the first slice not done and leaves every aggregate equal to the raw events, nothing doubled', async () => {
    const dataDir = dataDirectory('reprocess-kill')
    const env = environment(dataDir)
    const { fromMs, toMs, regions } = await lateDemoRuns(dataDir)
    const slices = Object.fromEntries(STREAMS.map((stream) => [stream, planSlices(fromMs, toMs, streamReach(stream, SETTINGS))]))
    const sliceCount = Object.values(slices).reduce((sum, each) => sum + each.length, 0)
    // Each region in a slice of its own, for every stream.
    for (const stream of STREAMS) {
      expect(regions.map((region) => slices[stream]!.findIndex((slice) => slice.fromMs <= region.fromMs && region.toMs <= slice.toMs)), stream).toEqual([0, slices[stream]!.length - 1])
    }

    const { truth, before, clicksInRange } = await withClickHouse(dataDir, async (clickhouse) => ({
      truth: await aggregatesFromRaw(clickhouse, 'alpha'),
      before: await storedAggregates(clickhouse, 'alpha'),
      clicksInRange: (await rows<{ n: number }>(clickhouse, `SELECT count() AS n FROM eddy.events_click FINAL WHERE ts >= fromUnixTimestamp64Milli(${slices.click![0]!.fromMs}) AND ts < fromUnixTimestamp64Milli(${slices.click!.at(-1)!.toMs})`))[0]!.n,
    }))
    // Before: the late events are missing from the live aggregates, in both regions.
    const missing = aggregateDifferences(truth, before, Infinity)
    expect(Object.keys(missing)).toEqual(expect.arrayContaining(['clicks1m', 'sessions', 'logs1m', 'notifications1m']))
    const regionOf = (difference: string) => regions.findIndex((region) => Math.abs(Number(difference.split('|')[0]) * 1_000 - region.toMs) < 2 * HOUR)
    expect(new Set(missing.clicks1m!.map(regionOf))).toEqual(new Set([0, 1]))

    const args = ['reprocess', '--from', new Date(fromMs).toISOString(), '--to', new Date(toMs).toISOString()]
    // Killed as soon as the journal holds a finished slice: the run is then between slices or
    // inside the next one, with rows of it possibly written.
    const begun = performance.now()
    const first = command(args, env)
    let killedAt = journal(dataDir)
    const deadline = Date.now() + 120_000
    // Polled often: the slices after the first take a few hundred milliseconds each.
    while ((killedAt?.done.length ?? 0) < 1 && first.running && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      killedAt = journal(dataDir)
    }
    await first.kill()
    expect(await first.exited, `${first.stdout}${first.stderr}`).toEqual({ code: null, signal: 'SIGKILL' })
    const left = journal(dataDir)
    expect(left?.done.length, 'slices journaled when killed').toBeGreaterThanOrEqual(1)
    expect(left!.done).toContain('click/0')
    expect(left!.done.length).toBeLessThan(sliceCount)
    expect(left!.generation).toBe(killedAt!.generation)

    const killedAfterMs = Math.round(performance.now() - begun)
    const again = performance.now()
    const second = command(args, env)
    expect(await second.exited, second.stderr).toEqual({ code: 0, signal: null })
    console.info(`reprocess-kill: ${JSON.stringify({ slices: sliceCount, journaledWhenKilled: left!.done, killedAfterMs, resumedRunMs: Math.round(performance.now() - again) })}\n${second.stdout}`)
    // Resumed with the killed run's revision, so its rows replace whatever the killed run wrote.
    expect(second.stdout).toContain(`reprocess resumed and finished (revision generation ${left!.generation})`)
    // Every slice counted (the journaled ones too), and every window closed: nothing left to the live jobs.
    for (const stream of STREAMS) expect(second.stdout).toMatch(new RegExp(`${stream}: [\\d,]+ events in ${slices[stream]!.length} slices, [\\d,]+ rows written, [\\d,]+ cancelled\n`))
    expect(journal(dataDir), 'the finished run leaves no journal').toBeUndefined()
    // The journaled slice was not read again: the resumed run read only the rest of the range.
    const clicksRead = Number(/click: ([\d,]+) events/.exec(second.stdout)![1]!.replaceAll(',', ''))
    expect(clicksRead).toBeLessThan(clicksInRange)

    const after: Aggregates = await withClickHouse(dataDir, (clickhouse) => storedAggregates(clickhouse, 'alpha'))
    expect(aggregateDifferences(truth, after)).toEqual({})
  }, 300_000)
})
