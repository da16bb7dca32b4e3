import { describe, expect, it } from 'vitest'
import { partitionForKey } from '../../core/bus/embedded/murmur2.ts'
import { PARTITION_KEY } from '../../core/bus/partition-key.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import { click } from '../../test/support/job-events.ts'
import { modelEvents } from '../../test/support/model-events.ts'
import type { Job, Row } from '../job.ts'
import { defaultJobs } from '../jobs/index.ts'
import { DEFAULT_CLICKSTREAM } from '../jobs/clickstream.ts'
import { DEFAULT_EVENT_TIME } from '../operators/settings.ts'
import { memoryJournal } from './journal.ts'
import { MemoryTables, memoryReprocessSource } from './memory-source.ts'
import { planSlices, streamReach } from './plan.ts'
import { RangeReplay } from './replay.ts'
import { reprocess, type ReprocessDependencies } from './reprocess.ts'
import { REPROCESS_REVISION_BASE } from './select.ts'
import { reprocessTables, rowKey, type ReprocessSettings } from './tables.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const SETTINGS: ReprocessSettings = { click: DEFAULT_CLICKSTREAM, eventTime: DEFAULT_EVENT_TIME }
const TABLES = reprocessTables(SETTINGS)
const PARTITIONS = 4
const START = Date.UTC(2026, 10, 2, 9)
const JOBS = defaultJobs()
const jobOf = (stream: Stream) => JOBS.find((job) => job.stream === stream)!
const tableOf = (name: string) => TABLES.find((table) => table.table === name)!

const newTables = () => new MemoryTables((table, row) => rowKey(tableOf(table), row))

/** What a job writes when it sees `events` in order: rows with the live job's own revisions. */
async function jobRows(stream: Stream, events: readonly Row[]): Promise<Map<string, Row[]>> {
  const replay = new RangeReplay<Row>(jobOf(stream) as Job, TABLES, PARTITIONS, PARTITION_KEY[stream] as unknown as (event: Row) => string, START)
  for (const event of [...events].sort((a, b) => Number(a.ts) - Number(b.ts))) replay.add(event)
  return new Map([...(await replay.finish())].map(([table, rows]) => [table, [...rows.values()]]))
}

function writeAll(tables: MemoryTables, rows: Map<string, Row[]>): void {
  for (const [table, each] of rows) tables.insert(table, each)
}

/** One pageview per partition long after the range: the live job's watermark is past all of it. */
function laterEvents(atMs: number): Row[] {
  const events: Row[] = []
  for (let partition = 0, visitor = 0; partition < PARTITIONS; visitor++) {
    if (partitionForKey(`later-${visitor}`, PARTITIONS) === partition) {
      events.push(click({ ts: atMs, anonymous_id: `later-${visitor}`, project_id: 'other' }) as unknown as Row)
      partition++
    }
  }
  return events
}

function dependencies(raw: Partial<Record<Stream, readonly Row[]>>, tables: MemoryTables, clock = () => START + 10 * HOUR, journal = memoryJournal()): ReprocessDependencies {
  return {
    source: memoryReprocessSource(raw, tables),
    write: async (table, rows) => tables.insert(table, rows),
    jobs: JOBS,
    partitions: PARTITIONS,
    settings: SETTINGS,
    clock,
    journal,
    retentionMs: 400 * 24 * HOUR,
  }
}

/** A table's rows without revisions, sorted, for comparing what two runs leave. */
function view(tables: MemoryTables, table: string, fromMs = -Infinity, toMs = Infinity): string[] {
  return tables.final(table)
    .filter((row) => tableOf(table).startMs(row) >= fromMs && tableOf(table).startMs(row) < toMs && !tableOf(table).isTombstone(row))
    .map(({ revision: _revision, final: _final, ...rest }) => JSON.stringify(rest))
    .sort()
}

/** Every fourth event of the first hour came 40 minutes late: the live job sent them to `late`. */
const late = (event: Row) => Number(event.ts) < START + HOUR && Number.parseInt(String(event.event_id).slice(-4), 16) % 4 === 0

describe('reprocess', () => {
  const model = modelEvents({ seed: 7, events: 9_000, startMs: START, spanMs: 3 * HOUR })
  const raw: Record<Stream, Row[]> = {
    click: [...(model.clicks as unknown as Row[]), ...laterEvents(START + 6 * HOUR)],
    log: model.logs as unknown as Row[],
    notification: model.notifications as unknown as Row[],
  }
  // Logs and notifications need their own partitions' watermarks moved on, as the clicks' are.
  raw.log.push(...raw.log.slice(0, 40).map((event, index) => ({ ...event, event_id: `later-log-${index}`, ts: START + 6 * HOUR })))
  raw.notification.push(...raw.notification.slice(0, 40).map((event, index) => ({ ...event, event_id: `later-n-${index}`, ts: START + 6 * HOUR })))

  const liveTables = async () => {
    const tables = newTables()
    for (const stream of ['click', 'log', 'notification'] as const) writeAll(tables, await jobRows(stream, raw[stream].filter((event) => !late(event))))
    return tables
  }

  it('makes the aggregates of a range what a recomputation from the raw events gives', async () => {
    expect(raw.click.filter(late).length).toBeGreaterThan(200)
    const tables = await liveTables()
    const truth = newTables()
    for (const stream of ['click', 'log', 'notification'] as const) writeAll(truth, await jobRows(stream, raw[stream]))
    // The live tables disagree with the truth before: the late events are missing from them.
    expect(view(tables, 'clicks_1m', START, START + 3 * HOUR)).not.toEqual(view(truth, 'clicks_1m', START, START + 3 * HOUR))

    const summary = await reprocess({ fromMs: START, toMs: START + 3 * HOUR }, dependencies(raw, tables))

    for (const table of TABLES) expect(view(tables, table.table, START, START + 3 * HOUR), table.table).toEqual(view(truth, table.table, START, START + 3 * HOUR))
    expect(summary.streams.click).toMatchObject({ stillOpen: 0, incomplete: 0, notCounted: 0 })
    expect(summary.streams.click!.rows).toBeGreaterThan(1_000)
    // Rows outside the range are the live job's still.
    expect(view(tables, 'clicks_1m', START + 3 * HOUR)).toEqual(view(await liveTables(), 'clicks_1m', START + 3 * HOUR))
  })

  it('gives the counts an independent oracle gives: pageviews and visitors per minute, lines per minute', async () => {
    const tables = await liveTables()
    await reprocess({ fromMs: START, toMs: START + 3 * HOUR }, dependencies(raw, tables))
    const pageviews = raw.click.filter((event) => event.type === 'pageview' && Number(event.ts) < START + 3 * HOUR)
    const minutes = new Map<number, { pageviews: number; visitors: Set<unknown> }>()
    for (const event of pageviews) {
      const minute = Math.floor(Number(event.ts) / MINUTE) * 60
      const entry = minutes.get(minute) ?? { pageviews: 0, visitors: new Set() }
      minutes.set(minute, entry)
      entry.pageviews++
      entry.visitors.add(event.anonymous_id)
    }
    const totals = new Map<number, { pageviews: number; visitors: number }>()
    for (const row of tables.final('clicks_1m').filter((row) => row.dimension === 'total' && row.project_id === 'shop')) {
      const entry = totals.get(Number(row.window_start)) ?? { pageviews: 0, visitors: 0 }
      totals.set(Number(row.window_start), entry)
      entry.pageviews += Number(row.pageviews)
      entry.visitors += Number(row.visitors)
    }
    expect(Object.fromEntries(totals)).toEqual(Object.fromEntries([...minutes].map(([minute, entry]) => [minute, { pageviews: entry.pageviews, visitors: entry.visitors.size }])))

    const lines = new Map<string, number>()
    for (const event of raw.log.filter((event) => Number(event.ts) < START + 3 * HOUR)) {
      const key = `${Math.floor(Number(event.ts) / MINUTE) * 60}/${String(event.service)}/${String(event.level)}`
      lines.set(key, (lines.get(key) ?? 0) + 1)
    }
    const counted = new Map<string, number>()
    for (const row of tables.final('logs_1m').filter((row) => Number(row.window_start) * 1_000 < START + 3 * HOUR)) {
      const key = `${String(row.window_start)}/${String(row.service)}/${String(row.level)}`
      counted.set(key, (counted.get(key) ?? 0) + Number(row.lines))
    }
    expect(Object.fromEntries(counted)).toEqual(Object.fromEntries(lines))
  })

  it('gives the same rows when run twice, and rows that outrank the live job and the run before', async () => {
    const tables = await liveTables()
    let now = START + 10 * HOUR
    await reprocess({ fromMs: START, toMs: START + 3 * HOUR }, dependencies(raw, tables, () => now))
    const first = TABLES.map((table) => view(tables, table.table))
    const firstRevision = Number(tables.final('clicks_1m').find((row) => Number(row.window_start) * 1_000 === START)!.revision)
    now += 1
    await reprocess({ fromMs: START, toMs: START + 3 * HOUR }, dependencies(raw, tables, () => now))
    expect(TABLES.map((table) => view(tables, table.table))).toEqual(first)
    const secondRevision = Number(tables.final('clicks_1m').find((row) => Number(row.window_start) * 1_000 === START)!.revision)
    expect(firstRevision).toBe(REPROCESS_REVISION_BASE + START + 10 * HOUR)
    expect(secondRevision).toBe(firstRevision + 1)
  })

  it('leaves windows the live job still accepts events for to it', async () => {
    const recent = { click: model.clicks as unknown as Row[], log: [], notification: [] }
    const tables = newTables()
    writeAll(tables, await jobRows('click', recent.click.filter((event) => !late(event))))
    const before = view(tables, 'clicks_1m', START + 3 * HOUR - 15 * MINUTE)
    const summary = await reprocess({ fromMs: START, toMs: START + 3 * HOUR, stream: 'click' }, dependencies(recent, tables))
    expect(summary.streams.click!.stillOpen).toBeGreaterThan(0)
    // The last minutes are within the allowed lateness of the newest event: untouched.
    expect(view(tables, 'clicks_1m', START + 3 * HOUR - 15 * MINUTE)).toEqual(before)
    expect(tables.final('clicks_1m').filter((row) => Number(row.window_start) * 1_000 >= START + 3 * HOUR - 10 * MINUTE).every((row) => Number(row.revision) < REPROCESS_REVISION_BASE)).toBe(true)
    // The first hour, long closed, was reprocessed.
    expect(tables.final('clicks_1m').filter((row) => Number(row.window_start) * 1_000 < START + HOUR).every((row) => Number(row.revision) > REPROCESS_REVISION_BASE)).toBe(true)
  })

  it('goes on after a kill from the first slice not done, with the same revision', async () => {
    const uninterrupted = await liveTables()
    await reprocess({ fromMs: START, toMs: START + 13 * HOUR }, dependencies(raw, uninterrupted))

    const tables = await liveTables()
    const journal = memoryJournal()
    const failing = dependencies(raw, tables, () => START + 10 * HOUR, journal)
    let writes = 0
    const killed = { ...failing, write: async (table: string, rows: readonly Row[]) => {
      // The first slice's tables, then part of the second: a kill in the middle of a slice.
      if (++writes === TABLES.filter((each) => each.stream === 'click').length + 2) throw new Error('killed')
      return failing.write(table, rows)
    } }
    await expect(reprocess({ fromMs: START, toMs: START + 13 * HOUR }, killed)).rejects.toThrow('killed')
    expect([...journal.runs.values()][0]!.done).toEqual(['click/0'])

    const summary = await reprocess({ fromMs: START, toMs: START + 13 * HOUR }, dependencies(raw, tables, () => START + 11 * HOUR, journal))
    expect(summary.resumed).toBe(true)
    expect(summary.generation).toBe(START + 10 * HOUR)
    for (const table of TABLES) expect(tables.final(table.table).map((row) => JSON.stringify(row)).sort(), table.table).toEqual(uninterrupted.final(table.table).map((row) => JSON.stringify(row)).sort())
    expect(journal.runs.size).toBe(0)
  })

  it('cancels a live session that a late event merged into the one before it', async () => {
    const visit = [click({ ts: START + 5 * MINUTE, anonymous_id: 'merged' }), click({ ts: START + 30 * MINUTE, anonymous_id: 'merged', path: '/late' }), click({ ts: START + 55 * MINUTE, anonymous_id: 'merged', path: '/end' })] as unknown as Row[]
    const events = [...visit, ...laterEvents(START + 6 * HOUR)]
    const tables = newTables()
    // Live, the middle pageview came too late: two sessions of one pageview each.
    writeAll(tables, await jobRows('click', events.filter((event) => event !== visit[1])))
    expect(tables.final('sessions').filter((row) => row.anonymous_id === 'merged').map((row) => row.pageviews)).toEqual([1, 1])

    const summary = await reprocess({ fromMs: START, toMs: START + HOUR, stream: 'click' }, dependencies({ click: events }, tables))

    const sessions = tables.final('sessions').filter((row) => row.anonymous_id === 'merged')
    expect(sessions).toHaveLength(1)
    expect(sessions[0]).toMatchObject({ session_start: START + 5 * MINUTE, session_end: START + 55 * MINUTE, pageviews: 3, entry_path: '/', exit_path: '/end' })
    expect(summary.streams.click!.tombstones).toBeGreaterThanOrEqual(1)
    // The path through the late page replaces the transition that skipped it.
    const transitions = tables.final('page_transitions_1h').filter((row) => row.project_id === 'shop').map((row) => `${String(row.from_path)}→${String(row.to_path)}`)
    expect(transitions).toEqual(['/→/late', '/late→/end'])
  })
})

describe('planSlices', () => {
  it('widens the range to whole windows and reads what reaches into each slice', () => {
    const reach = streamReach('click', SETTINGS)
    const slices = planSlices(START + 20 * MINUTE, START + 7 * HOUR + 1, reach)
    expect(slices.map((slice) => [slice.fromMs - START, slice.toMs - START])).toEqual([[0, 6 * HOUR], [6 * HOUR, 8 * HOUR]])
    expect(slices[0]).toMatchObject({ readFromMs: START - 30 * MINUTE, readToMs: START + 6 * HOUR + 5 * MINUTE, followToMs: START + 30 * HOUR + 5 * MINUTE })
    expect(planSlices(START, START + 1, streamReach('notification', SETTINGS))).toEqual([{ fromMs: START, toMs: START + MINUTE, readFromMs: START, readToMs: START + MINUTE, followToMs: START + MINUTE }])
    expect(() => planSlices(START, START, reach)).toThrow(RangeError)
  })
})
