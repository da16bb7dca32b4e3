import type { NotificationEvent } from '../../schemas/types.generated.ts'
import type { Row } from '../job.ts'
import type { ByteReader, ByteWriter } from '../state/bytes.ts'
import { arrayBytes, NUMBER_BYTES, objectBytes, stringBytes } from '../state/heap-size.ts'

/**
 * What one notification has been through, built from its events in any order: every status
 * keeps its earliest time, descriptive fields come from the earliest event that has them (ties by
 * event_id), so the result depends on the set of events, not on their arrival order.
 */
export interface Lifecycle {
  /** channel, provider, template of the earliest event: [time, event_id, channel, provider, template]. */
  origin: [number, string, string, string, string]
  /** user_id of the earliest event that has one: [time, event_id, user_id]. */
  user: [number, string, string] | null
  /** The earliest failure: [time, event_id, status, error_code]. */
  failure: [number, string, string, string | null] | null
  /** Earliest time per status. */
  times: Record<string, number>
  firstSeen: number
  lastSeen: number
  /** Events that changed the row; with `undelivered`, the row's revision. */
  applied: number
  /** The delivery timeout passed while the notification was sent but neither delivered nor failed. */
  undelivered: boolean
}

const PROGRESS = ['queued', 'sent', 'delivered', 'opened', 'clicked'] as const
const FAILURES: ReadonlySet<string> = new Set(['failed', 'bounced', 'dropped', 'complained'])
const REACHED_RECIPIENT = ['delivered', 'opened', 'clicked'] as const

const earlier = (time: number, id: string, than: readonly [number, string, ...unknown[]]) => time < than[0] || (time === than[0] && id < than[1])

export function newLifecycle(event: NotificationEvent): Lifecycle {
  return {
    origin: [event.ts, event.event_id, event.channel, event.provider, event.template],
    user: null, failure: null, times: {}, firstSeen: event.ts, lastSeen: event.ts, applied: 0, undelivered: false,
  }
}

/** Folds an event in (mutating `state`). */
export function applyEvent(state: Lifecycle, event: NotificationEvent): void {
  const { ts: time, event_id: id } = event
  if (earlier(time, id, state.origin)) state.origin = [time, id, event.channel, event.provider, event.template]
  if (event.user_id !== null && (state.user === null || earlier(time, id, state.user))) state.user = [time, id, event.user_id]
  if (FAILURES.has(event.status) && (state.failure === null || earlier(time, id, state.failure))) state.failure = [time, id, event.status, event.error_code]
  const known = state.times[event.status]
  if (known === undefined || time < known) state.times[event.status] = time
  state.firstSeen = Math.min(state.firstSeen, time)
  state.lastSeen = Math.max(state.lastSeen, time)
}

export const sentAt = (state: Lifecycle): number | undefined => state.times.sent

/** Heap bytes of one lifecycle, roughly: the object, its tuples and their strings, and the status times. */
export function lifecycleBytes(state: Lifecycle): number {
  const tuple = (values: readonly unknown[] | null) => {
    if (values === null) return 0
    let bytes = arrayBytes(values.length) + NUMBER_BYTES
    for (const value of values) if (typeof value === 'string') bytes += stringBytes(value)
    return bytes
  }
  const statuses = Object.keys(state.times).length
  return objectBytes(9) + 2 * NUMBER_BYTES + tuple(state.origin) + tuple(state.user) + tuple(state.failure) + objectBytes(statuses) + statuses * NUMBER_BYTES
}

/** Delivered, opened or clicked, or a failure: the delivery timeout no longer applies. */
export const settled = (state: Lifecycle): boolean => state.failure !== null || REACHED_RECIPIENT.some((status) => state.times[status] !== undefined)

/**
 * A failure wins (its status names what went wrong); then 'undelivered' if the timeout passed
 * before anything reached the recipient; else the furthest status reached. An event past the
 * timeout that shows delivery overrides 'undelivered'.
 */
export function finalStatus(state: Lifecycle): string {
  if (state.failure !== null) return state.failure[2]
  if (state.undelivered && !settled(state)) return 'undelivered'
  for (let index = PROGRESS.length - 1; index >= 0; index--) if (state.times[PROGRESS[index]!] !== undefined) return PROGRESS[index]!
  return Object.keys(state.times).sort()[0] ?? 'unknown' // only statuses outside the funnel, e.g. unsubscribed
}

const between = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? null : to - from)

/** The notification_lifecycle columns except revision; latencies are null until both ends are known. */
export function lifecycleColumns(projectId: string, notificationId: string, state: Lifecycle): Row {
  const { times } = state
  return {
    project_id: projectId,
    notification_id: notificationId,
    channel: state.origin[2],
    provider: state.origin[3],
    template: state.origin[4],
    user_id: state.user?.[2] ?? '',
    first_seen: state.firstSeen,
    sent_at: times.sent ?? null,
    delivered_at: times.delivered ?? null,
    opened_at: times.opened ?? null,
    clicked_at: times.clicked ?? null,
    failed_at: state.failure?.[0] ?? null,
    final_status: finalStatus(state),
    error_code: state.failure?.[3] ?? '',
    sent_to_delivered_ms: between(times.sent, times.delivered),
    delivered_to_opened_ms: between(times.delivered, times.opened),
  }
}

/** Fixed field order and sorted statuses, so equal state gives equal bytes. */
export function serializeLifecycle(state: Lifecycle, writer: ByteWriter): void {
  const times = Object.entries(state.times).sort((a, b) => (a[0] < b[0] ? -1 : 1))
  writer.text(JSON.stringify([state.origin, state.user, state.failure, times, state.firstSeen, state.lastSeen, state.applied, state.undelivered]))
}

export function deserializeLifecycle(reader: ByteReader): Lifecycle {
  const [origin, user, failure, times, firstSeen, lastSeen, applied, undelivered] = JSON.parse(reader.text()) as [
    Lifecycle['origin'], Lifecycle['user'], Lifecycle['failure'], Array<[string, number]>, number, number, number, boolean,
  ]
  return { origin, user, failure, times: Object.fromEntries(times), firstSeen, lastSeen, applied, undelivered }
}
