import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { LogEvent } from '../../schemas/types.generated.ts'
import type { OutputRows, Row } from '../job.ts'
import { fingerprintOf } from '../operators/fingerprint.ts'
import { logsJob, type LogsJobSettings } from './logs.ts'
import { collect, latestRows, expectSameAfterRestore, runTask } from '../../test/support/job-events.ts'

const T0 = Date.parse('2026-11-22T10:00:00Z')
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const TIMING = { outOfOrdernessMs: 5_000, allowedLatenessMs: 5 * MINUTE, earlyFiringMs: 1_000 }

let sequence = 0
function line(overrides: Partial<LogEvent> & Pick<LogEvent, 'ts'>): LogEvent {
  sequence += 1
  return {
    event_id: `log-${String(sequence).padStart(8, '0')}`, project_id: 'shop', received_at: overrides.ts, service: 'checkout', host: 'web-1',
    level: 'info', message: 'request served', logger: null, trace_id: null, span_id: null, attributes: {},
    ...overrides,
  }
}

/** Moves the watermark far past everything before it. */
const flush = (ts: number) => line({ ts, project_id: 'zz', service: 'flush' })

function run(batches: readonly LogEvent[][], settings: Partial<LogsJobSettings> = TIMING): OutputRows {
  return runTask(logsJob(settings).createTask(3), batches, T0)
}

const shop = (rows: readonly Row[] = []) => rows.filter((row) => row.project_id === 'shop')
const columns = (rows: readonly Row[] = []) => [...new Set(rows.map((row) => Object.keys(row).sort().join(',')))]
const MINUTE_KEY = ['project_id', 'window_start', 'service', 'level', 'source_partition']
const FINGERPRINT_KEY = ['project_id', 'window_start', 'service', 'fingerprint', 'source_partition']

describe('logs job: lines per minute', () => {
  const first = line({ ts: T0 + 1_000 })
  const outputs = run([
    [first, line({ ts: T0 + 20_000 }), line({ ts: T0 + 30_000, level: 'error', message: 'boom' }), line({ ts: T0 + 61_000, level: 'warn' })],
    [first], // a client retry: counted once
    [line({ ts: T0 + 2 * MINUTE + 10_000 })], // watermark 2:05: minutes 0 and 1 are final
    [line({ ts: T0 + 40_000 })], // late, within the allowed lateness: a new revision
    [flush(T0 + 20 * MINUTE)],
    [line({ ts: T0 + 50_000, host: 'too-late' })], // past the lateness: to 'late'
  ])
  const rows = shop(outputs.logs_1m)

  it('has exactly the logs_1m columns', () => {
    expect(columns(rows)).toEqual(['final,level,lines,project_id,revision,service,source_partition,window_start'])
  })

  it('fires early, final and late rows with growing revisions', () => {
    const info = rows.filter((row) => row.window_start === T0 / 1_000 && row.level === 'info')
    expect(info.filter((row) => row.final === 0).every((row) => Number(row.revision) % 2 === 0)).toBe(true)
    expect(info.filter((row) => row.final === 1).map((row) => [row.lines, row.revision])).toEqual([[2, 5], [3, 7]])
  })

  it('keeps the newest count per minute, service and level', () => {
    const latest = latestRows(rows, MINUTE_KEY).map((row) => [row.window_start, row.level, row.lines, row.final])
    expect(latest.sort()).toEqual([
      [T0 / 1_000, 'error', 1, 1],
      [T0 / 1_000, 'info', 3, 1],
      [(T0 + MINUTE) / 1_000, 'warn', 1, 1],
      [(T0 + 2 * MINUTE) / 1_000, 'info', 1, 1],
    ])
    expect(latestRows(rows, MINUTE_KEY).every((row) => row.source_partition === 3)).toBe(true)
  })

  it('sends a line beyond the allowed lateness to late, once', () => {
    expect(outputs.late).toEqual([expect.objectContaining({ reason: 'beyond-allowed-lateness', job: 'logs', event: expect.objectContaining({ host: 'too-late' }) })])
  })
})

describe('logs job: error fingerprints', () => {
  const a = line({ ts: T0 + 5 * MINUTE, event_id: 'b', level: 'error', message: 'payment 97 failed for order 11111111-2222-4333-8444-555555555555' })
  const b = line({ ts: T0 + 5 * MINUTE, event_id: 'a', level: 'error', message: 'payment 12 failed for order 0b6f3c7e-1d2a-4b5c-8d9e-0f1a2b3c4d5e' })
  const outputs = run([
    [line({ ts: T0 + 10 * MINUTE, level: 'error', message: 'payment 4411 failed for order 9a6f3c7e-1d2a-4b5c-8d9e-0f1a2b3c4d5e' }), a],
    [line({ ts: T0 + 12 * MINUTE, level: 'warn', message: 'payment 1 failed for order 9a6f3c7e-1d2a-4b5c-8d9e-0f1a2b3c4d5e' }), b],
    [line({ ts: T0 + 20 * MINUTE, level: 'fatal', message: 'payment 5 failed for order 7a6f3c7e-1d2a-4b5c-8d9e-0f1a2b3c4d5e' })],
    [line({ ts: T0 + 21 * MINUTE, level: 'error', message: 'timeout after 30 ms' }), flush(T0 + 2 * HOUR)],
  ])
  const rows = latestRows(shop(outputs.error_fingerprints_1h), FINGERPRINT_KEY)

  it('groups occurrences that differ in numbers and uuids, with first/last seen and the earliest sample', () => {
    const template = 'payment <n> failed for order <uuid>'
    expect(rows.find((row) => row.template === template)).toEqual({
      project_id: 'shop', window_start: T0 / 1_000, service: 'checkout', fingerprint: fingerprintOf('checkout', template), template, source_partition: 3,
      occurrences: 4, first_seen: T0 + 5 * MINUTE, last_seen: T0 + 20 * MINUTE, sample_message: b.message, revision: 9, final: 1,
    })
    expect(rows.map((row) => [row.template, row.occurrences]).sort()).toEqual([[template, 4], ['timeout after <n> ms', 1]])
  })

  it('emits rows for errors only', () => {
    expect(outputs.error_fingerprints_1h!.every((row) => typeof row.template === 'string' && row.template !== '')).toBe(true)
  })
})

describe('logs job: error-rate anomalies', () => {
  /** One minute of a service's traffic: `lines` lines of which `errors` are errors. */
  const minute = (service: string, index: number, lines: number, errors: number) =>
    Array.from({ length: lines }, (_, n) => line({ service, ts: T0 + index * MINUTE + n * 100, level: n < errors ? 'error' : 'info', message: `failed ${n}` }))
  const errorsPerMinute = (index: number) => (index === 2 || index === 10 ? 30 : 2)
  const batches = Array.from({ length: 15 }, (_, index) => [...minute('api', index, 100, errorsPerMinute(index)), ...minute('tiny', index, 10, index === 10 ? 8 : 0)])
  const outputs = run([...batches, [flush(T0 + HOUR)]])

  it('reports exactly one spike up after the warm-up, against the volume-weighted baseline, and the return down', () => {
    const anomalies = shop(outputs.log_anomalies)
    // Equal volumes: the baseline is the exponentially weighted mean of minutes 0–9.
    const weights = Array.from({ length: 10 }, (_, index) => 0.7 ** (9 - index))
    const baseline = weights.reduce((total, weight, index) => total + weight * (errorsPerMinute(index) / 100), 0) / weights.reduce((a, b) => a + b)
    expect(anomalies).toEqual([
      { project_id: 'shop', service: 'api', window_start: (T0 + 10 * MINUTE) / 1_000, lines: 100, errors: 30, error_rate: 0.3, baseline: expect.closeTo(baseline, 12), factor: 3, direction: 'up' },
      expect.objectContaining({ service: 'api', window_start: (T0 + 11 * MINUTE) / 1_000, error_rate: 0.02, direction: 'down' }),
    ])
  })

  it('counts the same lines as logs_1m', () => {
    const api = latestRows(shop(outputs.logs_1m), MINUTE_KEY).filter((row) => row.service === 'api' && row.window_start === (T0 + 10 * MINUTE) / 1_000)
    expect(api.map((row) => [row.level, row.lines]).sort()).toEqual([['error', 30], ['info', 70]])
  })
})

/** Random log traffic: two services, a few templates, disorder and retries of recent lines. */
const trafficArbitrary = fc.array(
  fc.record({
    advance: fc.integer({ min: 0, max: 20_000 }),
    jitter: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: -90_000, max: 0 }) }, { weight: 1, arbitrary: fc.integer({ min: -10 * MINUTE, max: -5 * MINUTE }) }),
    service: fc.constantFrom('api', 'web'),
    level: fc.constantFrom('info', 'info', 'warn', 'error', 'fatal') as fc.Arbitrary<LogEvent['level']>,
    template: fc.constantFrom('payment %d failed', 'timeout after %d ms', 'ok %d'),
    number: fc.nat(999),
    retry: fc.boolean(),
  }),
  { minLength: 30, maxLength: 150 },
).map((items) => {
  let cursor = T0
  const events: LogEvent[] = []
  for (const [index, item] of items.entries()) {
    cursor += item.advance
    const previous = events[events.length - 1 - (index % 3)]
    if (item.retry && previous) events.push(previous)
    else events.push(line({ ts: cursor + item.jitter, event_id: `e${index}`, service: item.service, level: item.level, message: item.template.replace('%d', String(item.number)) }))
  }
  events.push(flush(cursor + 3 * HOUR))
  return events
})

/** Late events that were sent once: a retry after the deduplicator forgot its original is late or dropped depending on batch ends. */
function lateSentOnce(outputs: OutputRows, events: readonly LogEvent[]): string[] {
  const sent = new Map<string, number>()
  for (const event of events) sent.set(event.event_id, (sent.get(event.event_id) ?? 0) + 1)
  return (outputs.late ?? []).map((row) => (row.event as LogEvent).event_id).filter((id) => sent.get(id) === 1).sort()
}

const splitAt = <T>(items: readonly T[], cuts: readonly number[]) => {
  const points = [...new Set(cuts.map((cut) => cut % (items.length + 1)))].sort((a, b) => a - b)
  return [...points, items.length].map((end, index) => items.slice(index === 0 ? 0 : points[index - 1], end))
}

describe('logs job: determinism', () => {
  // A touchy detector, so that random traffic raises anomalies often enough to compare.
  const settings = { ...TIMING, warmupMinutes: 1, minimumLines: 2, rateFloor: 0, anomalyFactor: 1.5 }
  // The flush line's own windows never close, so only early rows (processing-time driven) exist for it.
  const summary = (outputs: OutputRows, events: readonly LogEvent[]) => ({
    minutes: latestRows(shop(outputs.logs_1m), MINUTE_KEY),
    fingerprints: latestRows(shop(outputs.error_fingerprints_1h), FINGERPRINT_KEY),
    anomalies: outputs.log_anomalies ?? [],
    late: lateSentOnce(outputs, events),
  })
  const sorted = (value: ReturnType<typeof summary>) => JSON.stringify(Object.values(value).map((rows) => rows.map((row) => JSON.stringify(row)).sort()))

  it('gives the same newest rows whatever the batch boundaries (property)', () => {
    fc.assert(fc.property(trafficArbitrary, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 8 }), (events, cutsA, cutsB) => {
      expect(sorted(summary(run(splitAt(events, cutsA), settings), events))).toBe(sorted(summary(run(splitAt(events, cutsB), settings), events)))
    }), { numRuns: 50 })
  })

  it('continues after snapshot/restore at any cut exactly as without stopping (property)', () => {
    fc.assert(fc.property(trafficArbitrary, fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), (events, cuts, rawCut) => {
      const batches = splitAt(events, cuts)
      const cut = rawCut % (batches.length + 1)
      const job = logsJob(settings)
      expectSameAfterRestore(job, batches, cut, T0)
    }), { numRuns: 50 })
  })
})
