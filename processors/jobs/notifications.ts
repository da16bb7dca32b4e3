import type { NotificationEvent } from '../../schemas/types.generated.ts'
import { emit, type Job, type JobTask, type OutputRows, type Row } from '../job.ts'
import { Deduplicator } from '../operators/deduplicate.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { PartitionStateStore } from '../state/store.ts'
import { LATE_OUTPUT, topologyOutputs, validateTopology, type Topology } from '../topology/declaration.ts'
import { namedState } from '../topology/named-state.ts'
import { deduplicatorPart, storedPart, windowPart } from '../topology/parts.ts'
import { count, createWindowOperator, KeyedProcessOperator, tumbling, type KeyedContext, type KeyedEmission, type OperatorStorage } from '../window/index.ts'
import { joinKey, keyParts, routeEmissions, seconds } from '../operators/emissions.ts'
import {
  applyEvent, deserializeLifecycle, lifecycleBytes, lifecycleColumns, newLifecycle, sentAt, serializeLifecycle, settled, type Lifecycle,
} from '../operators/notification-lifecycle.ts'
import { DEFAULT_EVENT_TIME, deduplicationLimits, type EventTimeSettings } from '../operators/settings.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

export interface NotificationsJobSettings extends EventTimeSettings {
  /** Sent but neither delivered nor failed this long after sending (event time): 'undelivered'. */
  readonly deliveryTimeoutMs: number
  /** A notification's state is dropped this long (event time) after its newest event. */
  readonly retentionMs: number
}

export const DEFAULT_NOTIFICATIONS: NotificationsJobSettings = {
  ...DEFAULT_EVENT_TIME,
  deliveryTimeoutMs: 10 * MINUTE,
  retentionMs: 24 * HOUR,
}

const UNDELIVERED = 'undelivered'
const EXPIRE = 'expire'

/**
 * Notifications, per input partition (keyed by notification_id, so a notification's events are
 * all here):
 *
 *   notifications ─ dedup by event_id ─┬─ by project, channel, provider, template, status
 *                                      │     ─ tumbling 1 min ─ notifications ──────────────► notifications_1m
 *                                      └─ by project, notification_id ─ lifecycle (keyed state)
 *                                            ├─ every change ─ times per status, latencies ──► notification_lifecycle
 *                                            ├─ timer sent + timeout ─ 'undelivered' ─────────► notification_lifecycle
 *                                            └─ timer newest event + retention ─ state dropped
 *   events beyond the allowed lateness ─► late
 */
export const NOTIFICATIONS_TOPOLOGY: Topology = validateTopology('notifications', {
  input: 'notification',
  operators: [
    { name: 'dedup', does: 'drop repeated event_ids', feeds: ['per-minute', 'lifecycles'] },
    { name: 'per-minute', does: 'by project, channel, provider, template, status, tumbling 1 min: notifications', feeds: ['notifications_1m', LATE_OUTPUT] },
    {
      name: 'lifecycles',
      does: 'by notification: times of each status, latencies; undelivered after the timeout; dropped after retention',
      feeds: ['notification_lifecycle', LATE_OUTPUT],
    },
  ],
})

export function notificationsJob(overrides: Partial<NotificationsJobSettings> = {}): Job<'notification'> {
  const settings: NotificationsJobSettings = Object.freeze({ ...DEFAULT_NOTIFICATIONS, ...overrides })
  if (!(settings.deliveryTimeoutMs > 0)) throw new RangeError(`deliveryTimeoutMs must be positive, got ${settings.deliveryTimeoutMs}`)
  // Longer than the timeout, so the undelivered timer always fires before the state goes; and
  // longer than what the minute windows accept, so an event too old for the lifecycle is already
  // reported late by them (see `lifecycleOperator`).
  const shortest = Math.max(settings.deliveryTimeoutMs, MINUTE + settings.allowedLatenessMs)
  if (!(settings.retentionMs > shortest)) throw new RangeError(`retentionMs must exceed ${shortest}, got ${settings.retentionMs}`)
  return {
    name: 'notifications',
    stream: 'notification',
    topology: NOTIFICATIONS_TOPOLOGY,
    outputs: topologyOutputs(NOTIFICATIONS_TOPOLOGY),
    reads: ['event_id', 'project_id', 'ts', 'notification_id', 'channel', 'provider', 'template', 'user_id', 'status', 'error_code'],
    createTask: (partition, state = createHeapStateStore().partition('notifications', partition)) => createNotificationsTask(partition, settings, state),
  }
}

function createNotificationsTask(partition: number, settings: NotificationsJobSettings, state: PartitionStateStore): JobTask<NotificationEvent> {
  // The lifecycle is idempotent on its own (a replayed event changes nothing), so ids are only
  // remembered for as long as the minute windows accept them.
  const deduplicator = new Deduplicator<NotificationEvent>(deduplicationLimits(settings, MINUTE), (event) => event.event_id, (event) => event.ts, state)

  const perMinute = createWindowOperator({
    storage: { store: state, prefix: 'per-minute/' },
    outOfOrdernessMs: settings.outOfOrdernessMs,
    allowedLatenessMs: settings.allowedLatenessMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    earlyFiringMs: settings.earlyFiringMs,
    assigner: tumbling(MINUTE),
    key: (event: NotificationEvent) => joinKey(event.project_id, event.channel, event.provider, event.template, event.status),
    time: (event: NotificationEvent) => event.ts,
    aggregates: { notifications: count<NotificationEvent>() },
  })

  const lifecycles = lifecycleOperator(settings, { store: state, prefix: 'lifecycles/' })

  const route = (outputs: OutputRows, minutes: ReturnType<typeof perMinute.process>, changes: KeyedEmission<NotificationEvent, Row>[]) => {
    routeEmissions(minutes, outputs, 'notifications_1m', 'notifications', (row) => {
      const [project_id, channel, provider, template, status] = keyParts(row.key)
      return {
        project_id, window_start: seconds(row.windowStart), channel, provider, template, status, source_partition: partition,
        notifications: row.values.notifications, revision: row.revision, final: row.final ? 1 : 0,
      }
    }, (event) => event)
    for (const change of changes) {
      // Invalid events are reported by the minute windows, which see the same events.
      if (change.kind === 'output') emit(outputs, 'notification_lifecycle', change.value)
      else if (change.kind === 'failed') emit(outputs, 'late', { event: change.event, reason: `failed:${change.reason}`, latenessMs: 0, job: 'notifications' })
    }
  }

  return {
    process(input, nowMs) {
      const events = deduplicator.filter(input)
      const outputs: OutputRows = {}
      route(outputs, perMinute.process(partition, events, nowMs), lifecycles.process(partition, events, nowMs))
      return outputs
    },
    onProcessingTime(nowMs) {
      const outputs: OutputRows = {}
      route(outputs, perMinute.onProcessingTime(nowMs), lifecycles.onProcessingTime(nowMs))
      return outputs
    },
    finish(nowMs) {
      const outputs: OutputRows = {}
      route(outputs, perMinute.endOfInput(nowMs), lifecycles.endOfInput(nowMs))
      return outputs
    },
    ...namedState('notifications', NOTIFICATIONS_TOPOLOGY, {
      dedup: deduplicatorPart(deduplicator),
      'per-minute': windowPart(perMinute),
      lifecycles: storedPart(lifecycles, () => ({ stateBytes: lifecycles.stats().stateBytes, lifecycleTimers: lifecycles.pendingTimers })),
    }, {
      clock: 'per-minute',
      positionalOrder: ['dedup', 'per-minute', 'lifecycles'],
    }),
  }
}

/**
 * One state per (project, notification_id). Each event that changes the row emits it with
 * revision 2 × applied + 1; the undelivered timer adds 1, so its row outranks the one before and is
 * outranked by the next change. Counting changes rather than events keeps the lifecycle
 * idempotent: a redelivered or repeated event (a second open) emits nothing and bumps nothing.
 */
function lifecycleOperator(settings: NotificationsJobSettings, storage: OperatorStorage) {
  const emitRow = (context: KeyedContext<Lifecycle, Row>, state: Lifecycle) => {
    const [projectId, notificationId] = keyParts(context.key) as [string, string]
    context.emit({ ...lifecycleColumns(projectId, notificationId, state), revision: 2 * state.applied + 1 + (state.undelivered ? 1 : 0) })
  }

  return new KeyedProcessOperator<NotificationEvent, Lifecycle, Row>({
    key: (event) => joinKey(event.project_id, event.notification_id),
    time: (event) => event.ts,
    outOfOrdernessMs: settings.outOfOrdernessMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    processEvent: (event, context) => {
      const existing = context.state
      // Too old to start a state: it would expire at once. Retention exceeds what the minute
      // windows accept, so those already report the event late; drop it silently here.
      if (existing === undefined && event.ts + settings.retentionMs <= context.watermark) return
      const state = existing ?? newLifecycle(event)
      const before = existing === undefined ? undefined : lifecycleColumns('', '', state)
      const lastSeen = existing?.lastSeen
      const sent = existing && sentAt(existing)
      applyEvent(state, event)
      if (existing === undefined) context.state = state
      if (state.lastSeen !== lastSeen) {
        if (lastSeen !== undefined) context.deleteTimer('event', lastSeen + settings.retentionMs, EXPIRE)
        context.setTimer('event', state.lastSeen + settings.retentionMs, EXPIRE)
      }
      const sentNow = sentAt(state)
      if (sentNow !== sent && sentNow !== undefined) {
        if (sent !== undefined) context.deleteTimer('event', sent + settings.deliveryTimeoutMs, UNDELIVERED)
        if (!settled(state)) context.setTimer('event', sentNow + settings.deliveryTimeoutMs, UNDELIVERED)
      }
      if (before !== undefined && sameColumns(before, lifecycleColumns('', '', state))) return
      state.applied += 1
      emitRow(context, state)
    },
    onTimer: (timer, context) => {
      const state = context.state
      if (state === undefined) return
      if (timer.tag === EXPIRE) {
        // Bounded state over completeness: an event more than retentionMs after the newest one
        // (an open days later) starts a new state, whose rows may rank below the old row's.
        context.state = undefined
        return
      }
      if (state.undelivered || settled(state)) return
      state.undelivered = true
      emitRow(context, state)
    },
    serializeState: serializeLifecycle,
    deserializeState: deserializeLifecycle,
    stateBytes: lifecycleBytes,
  }, storage)
}

/** Every column is a string, a number or null, so a shallow comparison is exact. */
function sameColumns(left: Row, right: Row): boolean {
  for (const column in left) if (left[column] !== right[column]) return false
  return true
}
