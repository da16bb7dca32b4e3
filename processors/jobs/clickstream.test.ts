import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { OutputRows } from '../job.ts'
import { clickstreamJob } from './clickstream.ts'
import { click, collect, handOver, latestRows, runTask } from '../../test/support/job-events.ts'
import { createHeapStateStore } from '../state/heap-store.ts'

const T0 = Date.parse('2026-11-22T10:00:00Z')
const MINUTE = 60_000
const job = clickstreamJob({ outOfOrdernessMs: 5_000, allowedLatenessMs: 5 * MINUTE, earlyFiringMs: 1_000 })

/** Visitor a: three pages over two minutes; visitor b: one page; then time moves on past every window. */
function scenario() {
  return [
    click({ ts: T0 + 1_000, anonymous_id: 'a', path: '/', referrer_domain: 'news.example', utm_source: 'hn' }),
    click({ ts: T0 + 61_000, anonymous_id: 'a', path: '/pricing' }),
    click({ ts: T0 + 30_000, anonymous_id: 'b', path: '/', browser: 'Safari', device_type: 'mobile' }),
    click({ ts: T0 + 62_000, anonymous_id: 'a', type: 'custom', name: 'Signed Up', path: '' }),
    click({ ts: T0 + 121_000, anonymous_id: 'a', path: '/signup' }),
  ]
}
const flush = () => click({ ts: T0 + 3 * 3_600_000, anonymous_id: 'flush', project_id: 'zz' })

function run(batches: ReturnType<typeof click>[][]): OutputRows {
  return runTask(job.createTask(0), batches, T0)
}

const onlyShop = (rows: OutputRows[string] = []) => rows.filter((row) => row.project_id === 'shop')

describe('clickstream job', () => {
  const outputs = run([scenario(), [flush()]])

  it('counts pageviews and unique visitors per minute by dimension', () => {
    const rows = latestRows(onlyShop(outputs.clicks_1m), ['window_start', 'dimension', 'value'])
    const find = (minute: number, dimension: string, value: string) =>
      rows.find((r) => r.window_start === (T0 + minute * MINUTE) / 1_000 && r.dimension === dimension && r.value === value)
    expect(find(0, 'total', '')).toMatchObject({ pageviews: 2, visitors: 2, final: 1 })
    expect(find(0, 'path', '/')).toMatchObject({ pageviews: 2, visitors: 2 })
    expect(find(0, 'browser', 'Safari')).toMatchObject({ pageviews: 1, visitors: 1 })
    expect(find(0, 'utm_source', 'hn')).toMatchObject({ pageviews: 1, visitors: 1 })
    expect(find(1, 'total', '')).toMatchObject({ pageviews: 1, visitors: 1 }) // the custom event is no pageview
    expect(find(2, 'path', '/signup')).toMatchObject({ pageviews: 1 })
  })

  it('writes open sessions provisionally, long before their gap has passed', () => {
    const task = clickstreamJob({ outOfOrdernessMs: 5_000, sessionEarlyFiringMs: 5_000 }).createTask(0)
    const outputs: OutputRows = {}
    collect(outputs, task.process([click({ ts: T0, anonymous_id: 'a', path: '/' }), click({ ts: T0 + 2_000, anonymous_id: 'a', path: '/pricing' })], T0))
    expect(onlyShop(outputs.sessions)).toEqual([])
    collect(outputs, task.onProcessingTime(T0 + 5_000))
    expect(onlyShop(outputs.sessions)).toEqual([expect.objectContaining({ anonymous_id: 'a', session_start: T0, session_end: T0 + 2_000, pageviews: 2, bounced: 0, final: 0 })])
  })

  it('builds sessions with entry, exit, duration and bounce', () => {
    const sessions = latestRows(onlyShop(outputs.sessions), ['anonymous_id', 'session_start'])
    expect(sessions.find((s) => s.anonymous_id === 'a')).toMatchObject({
      session_start: T0 + 1_000, session_end: T0 + 121_000, duration_ms: 120_000, pageviews: 3, events: 4,
      entry_path: '/', exit_path: '/signup', referrer_domain: 'news.example', utm_source: 'hn', bounced: 0, final: 1,
    })
    expect(sessions.find((s) => s.anonymous_id === 'b')).toMatchObject({ pageviews: 1, bounced: 1, device_type: 'mobile' })
  })

  it('counts page-to-page transitions per hour in event-time order', () => {
    const transitions = latestRows(onlyShop(outputs.page_transitions_1h), ['window_start', 'from_path', 'to_path'])
      .map((row) => [row.from_path, row.to_path, row.transitions])
    expect(transitions.sort()).toEqual([['/', '/pricing', 1], ['/pricing', '/signup', 1]])
  })

  it('reports active visitors over the last 5 minutes, early', () => {
    const active = onlyShop(outputs.active_visitors_5m)
    expect(active.some((row) => row.final === 0)).toBe(true)
    const latest = latestRows(active, ['window_start'])
    expect(latest.find((row) => row.window_start === (T0 - 2 * MINUTE) / 1_000)).toMatchObject({ visitors: 2, pageviews: 4 })
  })

  it('counts a duplicated event once and reports an event beyond the lateness', () => {
    const events = scenario()
    const out = run([events, [events[0]!, events[1]!], [flush()], [click({ ts: T0 + 2_000, anonymous_id: 'c' })]])
    const total = latestRows(onlyShop(out.clicks_1m), ['window_start', 'dimension', 'value']).find((r) => r.dimension === 'total' && r.window_start === T0 / 1_000)
    expect(total).toMatchObject({ pageviews: 2, visitors: 2 })
    expect(out.late).toEqual([
      // b's pageview came behind the watermark: counted by the windows, but left out of the paths.
      expect.objectContaining({ reason: 'late-for-paths', job: 'clickstream', event: expect.objectContaining({ anonymous_id: 'b' }) }),
      // c's is late for everything: reported once, by the sessions.
      expect.objectContaining({ reason: 'beyond-allowed-lateness', job: 'clickstream', event: expect.objectContaining({ anonymous_id: 'c' }) }),
    ])
  })

  it('keeps a merged session whatever order its rows are stored in', () => {
    // Visitor m's session fires (another visitor moves the watermark past its gap), then a late
    // page within the allowed lateness extends it: the grown session keeps its start, so the old
    // shape's retraction and the new row share a table key.
    const events = [
      click({ ts: T0, anonymous_id: 'm', path: '/a' }),
      click({ ts: T0 + 31 * MINUTE + 5_000, anonymous_id: 'other', path: '/' }),
      click({ ts: T0 + 29 * MINUTE, anonymous_id: 'm', path: '/b' }),
      flush(),
    ]
    const rows = onlyShop(run([events]).sessions).filter((row) => row.anonymous_id === 'm')
    expect(rows.some((row) => row.is_deleted === 1)).toBe(true)
    for (const order of [rows, [...rows].reverse()]) {
      const latest = latestRows(order, ['anonymous_id', 'session_start'])
      expect(latest).toEqual([expect.objectContaining({ session_start: T0, pageviews: 2, entry_path: '/a', exit_path: '/b' })])
    }
  })

  it('gives the same rows whatever the batch boundaries, and after snapshot/restore at any cut', () => {
    const events = [...scenario(), flush()]
    const baseline = latestRows(onlyShop(run([events]).sessions), ['anonymous_id', 'session_start'])
    fc.assert(fc.property(fc.integer({ min: 1, max: events.length - 1 }), (cut) => {
      const state = createHeapStateStore().partition('clickstream', 0)
      const task = job.createTask(0, state)
      const outputs: OutputRows = {}
      collect(outputs, task.process(events.slice(0, cut), T0))
      const restored = job.createTask(0, state)
      expect(restored.restore(handOver(task, state))).toEqual({ ok: true })
      collect(outputs, restored.process(events.slice(cut), T0 + 500))
      expect(Buffer.from(restored.snapshot()).equals(Buffer.from(task.process(events.slice(cut), T0 + 500) && task.snapshot()))).toBe(true)
      expect(latestRows(onlyShop(outputs.sessions), ['anonymous_id', 'session_start'])).toEqual(baseline)
    }), { numRuns: 20 })
  })
})
