import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { NotificationEvent } from '../../schemas/types.generated.ts'
import type { OutputRows, Row } from '../job.ts'
import { notificationsJob, type NotificationsJobSettings } from './notifications.ts'
import { collect, latestRows, expectSameAfterRestore, runTask } from '../../test/support/job-events.ts'

const T0 = Date.parse('2026-11-22T10:00:00Z')
const SECOND = 1_000
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const SETTINGS = { outOfOrdernessMs: 5_000, allowedLatenessMs: 5 * MINUTE, earlyFiringMs: 1_000, retentionMs: HOUR }

let sequence = 0
function notification(overrides: Partial<NotificationEvent> & Pick<NotificationEvent, 'ts' | 'notification_id' | 'status'>): NotificationEvent {
  sequence += 1
  return {
    event_id: `note-${String(sequence).padStart(8, '0')}`, project_id: 'shop', received_at: overrides.ts, channel: 'email', provider: 'ses',
    template: 'welcome', user_id: 'user-1', error_code: null, error_message: null, attributes: {},
    ...overrides,
  }
}

/** Moves the watermark to `ts` − 5 s with an unrelated notification. */
const flush = (ts: number) => notification({ ts, project_id: 'zz', notification_id: `flush-${ts}`, status: 'queued' })

function run(batches: readonly NotificationEvent[][], settings: Partial<NotificationsJobSettings> = SETTINGS): OutputRows {
  return runTask(notificationsJob(settings).createTask(1), batches, T0)
}

const shop = (rows: readonly Row[] = []) => rows.filter((row) => row.project_id === 'shop')
const rowsOf = (outputs: OutputRows, id: string) => (outputs.notification_lifecycle ?? []).filter((row) => row.notification_id === id)
const LIFECYCLE_COLUMNS = [
  'channel', 'clicked_at', 'delivered_at', 'delivered_to_opened_ms', 'error_code', 'failed_at', 'final_status', 'first_seen', 'notification_id',
  'opened_at', 'project_id', 'provider', 'revision', 'sent_at', 'sent_to_delivered_ms', 'template', 'user_id',
].join(',')

describe('notifications job: lifecycle', () => {
  it('follows a notification in order, with latencies and one revision per change', () => {
    const steps = (['queued', 'sent', 'delivered', 'opened', 'clicked'] as const).map((status, index) =>
      notification({ notification_id: 'n1', status, ts: T0 + [0, 1, 3, 60, 90][index]! * SECOND }))
    const outputs = run([steps, [notification({ notification_id: 'n1', status: 'opened', ts: T0 + 120 * SECOND })]])
    const rows = rowsOf(outputs, 'n1')
    expect(rows.map((row) => [row.final_status, row.revision])).toEqual([['queued', 3], ['sent', 5], ['delivered', 7], ['opened', 9], ['clicked', 11]])
    expect(rows.at(-1)).toEqual({
      project_id: 'shop', notification_id: 'n1', channel: 'email', provider: 'ses', template: 'welcome', user_id: 'user-1',
      first_seen: T0, sent_at: T0 + SECOND, delivered_at: T0 + 3 * SECOND, opened_at: T0 + 60 * SECOND, clicked_at: T0 + 90 * SECOND, failed_at: null,
      final_status: 'clicked', error_code: '', sent_to_delivered_ms: 2 * SECOND, delivered_to_opened_ms: 57 * SECOND, revision: 11,
    })
    expect(rows.every((row) => Object.keys(row).sort().join(',') === LIFECYCLE_COLUMNS)).toBe(true)
  })

  it('takes events out of order: delivered before sent, times are the earliest per status', () => {
    const outputs = run([
      [notification({ notification_id: 'n2', status: 'delivered', ts: T0 + 5 * SECOND, user_id: null, provider: 'ses-webhook' })],
      [notification({ notification_id: 'n2', status: 'sent', ts: T0 + 2 * SECOND })],
      [notification({ notification_id: 'n2', status: 'queued', ts: T0 })],
      [flush(T0 + 30 * MINUTE)],
    ])
    expect(rowsOf(outputs, 'n2').map((row) => [row.final_status, row.sent_at, row.sent_to_delivered_ms, row.first_seen, row.user_id, row.provider, row.revision])).toEqual([
      ['delivered', null, null, T0 + 5 * SECOND, '', 'ses-webhook', 3],
      ['delivered', T0 + 2 * SECOND, 3 * SECOND, T0 + 2 * SECOND, 'user-1', 'ses', 5],
      ['delivered', T0 + 2 * SECOND, 3 * SECOND, T0, 'user-1', 'ses', 7],
    ]) // no 'undelivered': it was delivered before the timeout came
  })

  it('reports a failure with its time and error code', () => {
    const outputs = run([[
      notification({ notification_id: 'n3', status: 'sent', ts: T0 }),
      notification({ notification_id: 'n3', status: 'bounced', ts: T0 + 4 * SECOND, error_code: '550' }),
    ], [flush(T0 + 30 * MINUTE)]])
    expect(rowsOf(outputs, 'n3').at(-1)).toMatchObject({ final_status: 'bounced', failed_at: T0 + 4 * SECOND, error_code: '550', delivered_at: null, sent_to_delivered_ms: null, revision: 5 })
    expect(rowsOf(outputs, 'n3')).toHaveLength(2)
  })

  it('marks a sent notification undelivered when the timeout passes, and still takes a later delivery', () => {
    const outputs = run([
      [notification({ notification_id: 'n4', status: 'sent', ts: T0 })],
      [flush(T0 + 10 * MINUTE)], // watermark 9:55: not yet
      [flush(T0 + 10 * MINUTE + 5 * SECOND)], // watermark 10:00: the timer fires
      [notification({ notification_id: 'n4', status: 'delivered', ts: T0 + 12 * MINUTE })],
    ])
    expect(rowsOf(outputs, 'n4').map((row) => [row.final_status, row.revision, row.sent_to_delivered_ms])).toEqual([
      ['sent', 3, null], ['undelivered', 4, null], ['delivered', 6, 12 * MINUTE],
    ])
  })

  it('drops a notification`s state after the retention, and refuses events too old to start one', () => {
    const job = notificationsJob(SETTINGS)
    const task = job.createTask(1)
    task.process([notification({ notification_id: 'n5', status: 'sent', ts: T0 }), notification({ notification_id: 'n5', status: 'delivered', ts: T0 + SECOND })], T0)
    expect(task.stats().lifecycleTimers).toBe(2) // expiry, and the delivery timeout set before delivery was known
    task.process([flush(T0 + HOUR + 10 * SECOND)], T0 + 1)
    expect(task.stats().lifecycleTimers).toBe(1) // only the flush notification's expiry
    const late = task.process([notification({ notification_id: 'n5', status: 'opened', ts: T0 + 2 * SECOND })], T0 + 2)
    expect(late.notification_lifecycle).toBeUndefined()
    expect(late.late).toEqual([expect.objectContaining({ reason: 'beyond-allowed-lateness', job: 'notifications' })])
  })

  it('refuses a retention that could drop state before the timeout or the lateness', () => {
    expect(() => notificationsJob({ retentionMs: 5 * MINUTE })).toThrow(RangeError)
  })
})

describe('notifications job: per minute', () => {
  it('counts notifications per channel, provider, template and status, duplicates once', () => {
    const sent = notification({ notification_id: 'a', status: 'sent', ts: T0 + SECOND })
    const outputs = run([
      [sent, notification({ notification_id: 'b', status: 'sent', ts: T0 + 2 * SECOND }), notification({ notification_id: 'c', status: 'sent', ts: T0 + 3 * SECOND, channel: 'sms', provider: 'twilio' })],
      [sent, notification({ notification_id: 'a', status: 'delivered', ts: T0 + 61 * SECOND })],
      [flush(T0 + 30 * MINUTE)],
    ])
    const rows = latestRows(shop(outputs.notifications_1m), ['window_start', 'channel', 'provider', 'template', 'status'])
    expect(rows.map((row) => [row.window_start, row.channel, row.provider, row.status, row.notifications, row.final, row.source_partition]).sort()).toEqual([
      [T0 / 1_000, 'email', 'ses', 'sent', 2, 1, 1],
      [T0 / 1_000, 'sms', 'twilio', 'sent', 1, 1, 1],
      [(T0 + MINUTE) / 1_000, 'email', 'ses', 'delivered', 1, 1, 1],
    ])
    expect(Object.keys(rows[0]!).sort().join(',')).toBe('channel,final,notifications,project_id,provider,revision,source_partition,status,template,window_start')
  })
})

/** Random lifecycles of a few notifications: any status order, disorder, retries of recent events. */
const trafficArbitrary = fc.array(
  fc.record({
    advance: fc.integer({ min: 0, max: 60_000 }),
    jitter: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: -60_000, max: 0 }) }, { weight: 1, arbitrary: fc.integer({ min: -10 * MINUTE, max: -5 * MINUTE }) }),
    id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
    status: fc.constantFrom('queued', 'sent', 'sent', 'delivered', 'opened', 'clicked', 'bounced', 'failed', 'unsubscribed') as fc.Arbitrary<NotificationEvent['status']>,
    retry: fc.boolean(),
  }),
  { minLength: 20, maxLength: 120 },
).map((items) => {
  let cursor = T0
  const events: NotificationEvent[] = []
  for (const [index, item] of items.entries()) {
    cursor += item.advance
    const previous = events[events.length - 1 - (index % 3)]
    if (item.retry && previous) events.push(previous)
    else events.push(notification({ ts: cursor + item.jitter, event_id: `e${index}`, notification_id: item.id, status: item.status, error_code: item.status === 'bounced' ? '550' : null }))
  }
  events.push(flush(cursor + 3 * HOUR))
  return events
})

function lateSentOnce(outputs: OutputRows, events: readonly { event_id: string }[]): string[] {
  const sent = new Map<string, number>()
  for (const event of events) sent.set(event.event_id, (sent.get(event.event_id) ?? 0) + 1)
  return (outputs.late ?? []).map((row) => (row.event as { event_id: string }).event_id).filter((id) => sent.get(id) === 1).sort()
}

const splitAt = <T>(items: readonly T[], cuts: readonly number[]) => {
  const points = [...new Set(cuts.map((cut) => cut % (items.length + 1)))].sort((a, b) => a - b)
  return [...points, items.length].map((end, index) => items.slice(index === 0 ? 0 : points[index - 1], end))
}

describe('notifications job: determinism', () => {
  // A retry that arrives after the deduplicator forgot its original is late either way, but
  // whether it was forgotten depends on where a batch ended: compare late events sent once only.
  const summary = (outputs: OutputRows, events: readonly NotificationEvent[]) => [
    latestRows(shop(outputs.notifications_1m), ['window_start', 'channel', 'provider', 'template', 'status']),
    latestRows(shop(outputs.notification_lifecycle), ['project_id', 'notification_id']),
    lateSentOnce(outputs, events),
  ].map((rows) => rows.map((row) => JSON.stringify(row)).sort())

  it('gives the same newest rows whatever the batch boundaries (property)', () => {
    fc.assert(fc.property(trafficArbitrary, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 8 }), (events, cutsA, cutsB) => {
      expect(summary(run(splitAt(events, cutsA)), events)).toEqual(summary(run(splitAt(events, cutsB)), events))
    }), { numRuns: 50 })
  })

  it('continues after snapshot/restore at any cut exactly as without stopping (property)', () => {
    fc.assert(fc.property(trafficArbitrary, fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), (events, cuts, rawCut) => {
      const batches = splitAt(events, cuts)
      const cut = rawCut % (batches.length + 1)
      const job = notificationsJob(SETTINGS)
      expectSameAfterRestore(job, batches, cut, T0)
    }), { numRuns: 50 })
  })

  it('raises the lifecycle revision with every row of a notification (property)', () => {
    fc.assert(fc.property(trafficArbitrary, fc.array(fc.nat(), { maxLength: 8 }), (events, cuts) => {
      const newest = new Map<string, Row>()
      for (const row of run(splitAt(events, cuts)).notification_lifecycle ?? []) {
        const previous = newest.get(String(row.notification_id))
        if (previous) expect(Number(row.revision)).toBeGreaterThan(Number(previous.revision))
        newest.set(String(row.notification_id), row)
      }
    }), { numRuns: 50 })
  })
})
