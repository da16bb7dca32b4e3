import type { ClickEvent } from '../../schemas/types.generated.ts'
import { type Job, type JobTask, type OutputRows, type RestoreResult } from '../job.ts'
import { Deduplicator } from '../steps/deduplicate.ts'
import { joinSnapshots, numberPart, readNumberPart, splitSnapshot } from '../steps/snapshot-parts.ts'
import { arrayBytes, NUMBER_BYTES, objectBytes, stringBytes } from '../state/heap-size.ts'
import { count, createWindowOperator, distinct, hopping, KeyedProcessOperator, max, min, session, sum, tumbling, type Timer } from '../window/index.ts'
import { BREAKDOWN_SHAPE, CLICK_DIMENSIONS, restoreBreakdown } from '../operators/click-breakdown.ts'
import { keyParts, joinKey, routeEmissions, seconds } from '../operators/emissions.ts'
import { firstBy, lastBy } from '../operators/first-last.ts'
import { DEFAULT_EVENT_TIME, deduplicationLimits, type EventTimeSettings } from '../operators/settings.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

export interface ClickstreamSettings extends EventTimeSettings {
  readonly sessionGapMs: number
  /**
   * How often open sessions are written provisionally. Without it a session reaches the table
   * only once event time is a whole gap past its last event, half an hour behind the live
   * visit metrics; slower than the minute windows' firings because every open session is a row.
   */
  readonly sessionEarlyFiringMs: number
  readonly activeWindowMs: number
  readonly activeSlideMs: number
}

export const DEFAULT_CLICKSTREAM: ClickstreamSettings = {
  ...DEFAULT_EVENT_TIME,
  sessionGapMs: 30 * MINUTE,
  sessionEarlyFiringMs: 5_000,
  activeWindowMs: 5 * MINUTE,
  activeSlideMs: MINUTE,
}

export { CLICK_DIMENSIONS }

interface Transition {
  readonly project: string
  readonly from: string
  readonly to: string
  readonly ts: number
}

interface VisitorPath {
  last?: string
  lastTs?: number
  pending: Array<[number, string, string]>
  /**
   * When the one pending 'expire' timer fires. Absent in checkpoints written before it existed,
   * which may hold several expire timers per visitor: the first to fire re-arms, the rest are stale.
   */
  expireAt?: number
}

const isPageview = (event: ClickEvent) => event.type === 'pageview'
const pageOf = (event: ClickEvent) => (isPageview(event) ? event.path : undefined)

/**
 * Clickstream, per input partition (clicks are keyed by visitor, so a visitor's events are all
 * here and per-partition unique counts add up across partitions):
 *
 *   clicks ─ dedup by event_id ─┬─ pageviews × dimension ─ tumbling 1 min ─ pageviews, visitors ─► clicks_1m
 *                               ├─ by visitor ─ session (30 min gap), early firings ─ start, end, entry, exit… ─► sessions
 *                               ├─ by visitor, in event-time order ─ page → page ─ tumbling 1 h ─► page_transitions_1h
 *                               └─ by project ─ hopping 5 min / 1 min, early firings ─ visitors ─► active_visitors_5m
 *   events beyond the allowed lateness ─► late
 */
export function clickstreamJob(overrides: Partial<ClickstreamSettings> = {}): Job<'click'> {
  const settings = { ...DEFAULT_CLICKSTREAM, ...overrides }
  return {
    name: 'clickstream',
    stream: 'click',
    outputs: ['clicks_1m', 'sessions', 'page_transitions_1h', 'active_visitors_5m', 'late'],
    // Not the url, title, screen, locale, user agent fields or properties map: half of a click's decode.
    reads: ['event_id', 'project_id', 'anonymous_id', 'ts', 'type', 'path', 'referrer_domain', 'utm_source', 'utm_medium', 'utm_campaign', 'browser', 'os', 'device_type', 'country'],
    createTask: (partition) => createClickstreamTask(partition, settings),
  }
}

function createClickstreamTask(partition: number, settings: ClickstreamSettings): JobTask<ClickEvent> {
  const timing = {
    outOfOrdernessMs: settings.outOfOrdernessMs,
    allowedLatenessMs: settings.allowedLatenessMs,
    idleTimeoutMs: settings.idleTimeoutMs,
  }
  const deduplicator = new Deduplicator<ClickEvent>(deduplicationLimits(settings, settings.activeWindowMs), (e) => e.event_id, (e) => e.ts)

  const breakdown = createWindowOperator({
    ...timing,
    ...BREAKDOWN_SHAPE,
    key: (event: ClickEvent) => joinKey(event.project_id),
    time: (event: ClickEvent) => event.ts,
    earlyFiringMs: settings.earlyFiringMs,
  })

  const sessions = createWindowOperator({
    ...timing,
    assigner: session(settings.sessionGapMs),
    earlyFiringMs: settings.sessionEarlyFiringMs,
    key: (event: ClickEvent) => joinKey(event.project_id, event.anonymous_id),
    time: (event: ClickEvent) => event.ts,
    aggregates: {
      start: min((event: ClickEvent) => event.ts),
      end: max((event: ClickEvent) => event.ts),
      events: count<ClickEvent>(),
      pageviews: sum((event: ClickEvent) => (isPageview(event) ? 1 : 0)),
      entry: firstBy((event: ClickEvent) => event.ts, (event) => event.event_id, (event) => (isPageview(event) ? entryOf(event) : undefined)),
      exit: lastBy((event: ClickEvent) => event.ts, (event) => event.event_id, pageOf),
    },
  })

  let lateForTransitions = 0
  const visitorPaths = new KeyedProcessOperator<ClickEvent, VisitorPath, Transition>({
    key: (event) => joinKey(event.project_id, event.anonymous_id),
    time: (event) => event.ts,
    outOfOrdernessMs: settings.outOfOrdernessMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    // Pageviews wait until the watermark passes them, then leave in event-time order, so a
    // transition is always between consecutive pages whatever order they arrived in.
    processEvent: (event, context) => {
      if (!isPageview(event)) return
      if (event.ts < context.watermark) {
        lateForTransitions += 1
        return
      }
      let state = context.state
      if (state === undefined) context.state = state = { pending: [] }
      state.pending.push([event.ts, event.event_id, event.path])
      context.setTimer('event', event.ts, 'page')
    },
    onTimer: (timer: Timer, context) => {
      const state = context.state
      if (!state) return
      if (timer.tag === 'expire') {
        if (state.expireAt !== undefined && state.expireAt !== timer.time) return
        state.expireAt = undefined
        const expiry = (state.lastTs ?? 0) + settings.sessionGapMs
        if (state.pending.length === 0 && expiry <= timer.time) context.state = undefined
        // One expire timer per visitor, moved on when it fires, rather than one per page: a
        // pageview would otherwise queue a timer that fires only to find the visitor still active.
        else if (expiry > timer.time) armExpiry(state, expiry, context)
        return
      }
      // Sorting allocates even for one element, and one pending page is the common case.
      if (state.pending.length > 1) state.pending.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
      const project = keyParts(context.key)[0]!
      while (state.pending.length > 0 && state.pending[0]![0] <= timer.time) {
        const [ts, , path] = state.pending.shift()!
        if (state.last !== undefined && state.lastTs !== undefined && ts - state.lastTs <= settings.sessionGapMs) {
          context.emit({ project, from: state.last, to: path, ts })
        }
        state.last = path
        state.lastTs = ts
      }
      if (state.expireAt === undefined) armExpiry(state, state.lastTs! + settings.sessionGapMs, context)
    },
    serializeState: (state, writer) => writer.text(JSON.stringify(state)),
    deserializeState: (reader) => JSON.parse(reader.text()) as VisitorPath,
    stateBytes: (state) => {
      let bytes = objectBytes(4) + 2 * NUMBER_BYTES + (state.last === undefined ? 0 : stringBytes(state.last)) + arrayBytes(state.pending.length)
      for (const [, id, path] of state.pending) bytes += arrayBytes(3) + NUMBER_BYTES + stringBytes(id) + stringBytes(path)
      return bytes
    },
  })

  const transitions = createWindowOperator({
    ...timing,
    assigner: tumbling(HOUR),
    key: (transition: Transition) => joinKey(transition.project, transition.from, transition.to),
    time: (transition: Transition) => transition.ts,
    aggregates: { transitions: count<Transition>() },
    earlyFiringMs: settings.earlyFiringMs,
  })

  const active = createWindowOperator({
    ...timing,
    assigner: hopping(settings.activeWindowMs, settings.activeSlideMs),
    key: (event: ClickEvent) => event.project_id,
    time: (event: ClickEvent) => event.ts,
    aggregates: { visitors: distinct((event: ClickEvent) => event.anonymous_id), pageviews: sum((event: ClickEvent) => (isPageview(event) ? 1 : 0)) },
    earlyFiringMs: settings.earlyFiringMs,
  })

  const route = (outputs: OutputRows, emissions: {
    breakdown: ReturnType<typeof breakdown.process>
    sessions: ReturnType<typeof sessions.process>
    transitions: ReturnType<typeof transitions.process>
    active: ReturnType<typeof active.process>
  }) => {
    routeEmissions(emissions.breakdown, outputs, 'clicks_1m', 'clickstream', (row) => {
      const window_start = seconds(row.windowStart)
      const final = row.final ? 1 : 0
      return row.values.breakdown.map((entry) => ({
        project_id: row.key, window_start, dimension: CLICK_DIMENSIONS[entry.dimension], value: entry.value, source_partition: partition,
        pageviews: entry.count, visitors: entry.distinct, revision: entry.revision, final,
      }))
    }, undefined)
    routeEmissions(emissions.sessions, outputs, 'sessions', 'clickstream', (row) => {
      const [project_id, anonymous_id] = keyParts(row.key)
      const { start, end, events, pageviews, entry, exit } = row.values
      return {
        project_id, anonymous_id, session_start: row.windowStart, session_end: end, source_partition: partition,
        duration_ms: end - start, pageviews, events, entry_path: entry?.path ?? '', exit_path: exit ?? '',
        referrer_domain: entry?.referrer_domain ?? '', utm_source: entry?.utm_source ?? '', utm_medium: entry?.utm_medium ?? '', utm_campaign: entry?.utm_campaign ?? '',
        device_type: entry?.device_type ?? '', browser: entry?.browser ?? '', os: entry?.os ?? '', country: entry?.country ?? '',
        bounced: pageviews <= 1 ? 1 : 0, revision: row.revision, final: row.final ? 1 : 0, is_deleted: 0,
      }
    }, (event) => event, (retraction) => {
      const [project_id, anonymous_id] = keyParts(retraction.key)
      return {
        project_id, anonymous_id, session_start: retraction.windowStart, session_end: retraction.windowStart, source_partition: partition,
        duration_ms: 0, pageviews: 0, events: 0, entry_path: '', exit_path: '', referrer_domain: '', utm_source: '', utm_medium: '', utm_campaign: '',
        // One below the merged row's revision: still above anything the superseded shape had (the
        // merged row holds at least one more event, two revisions), and always below the merged
        // row itself. A superseded shape can start where the merged session starts, and then both
        // share a table key: with equal revisions whichever insert landed last would win.
        device_type: '', browser: '', os: '', country: '', bounced: 0, revision: retraction.revision - 1, final: 1, is_deleted: 1,
      }
    })
    routeEmissions(emissions.transitions, outputs, 'page_transitions_1h', 'clickstream', (row) => {
      const [project_id, from_path, to_path] = keyParts(row.key)
      return { project_id, window_start: seconds(row.windowStart), from_path, to_path, source_partition: partition, transitions: row.values.transitions, revision: row.revision, final: row.final ? 1 : 0 }
    }, undefined)
    routeEmissions(emissions.active, outputs, 'active_visitors_5m', 'clickstream', (row) => ({
      project_id: row.key, window_start: seconds(row.windowStart), window_end: seconds(row.windowEnd), source_partition: partition,
      visitors: row.values.visitors, pageviews: row.values.pageviews, revision: row.revision, final: row.final ? 1 : 0,
    }), undefined)
  }

  const transitionsFrom = (emissions: ReturnType<typeof visitorPaths.process>): Transition[] => {
    const list: Transition[] = []
    for (const emission of emissions) if (emission.kind === 'output') list.push(emission.value)
    return list
  }

  return {
    process(input, nowMs) {
      const events = deduplicator.filter(input)
      const outputs: OutputRows = {}
      route(outputs, {
        breakdown: breakdown.process(partition, events.filter(isPageview), nowMs),
        sessions: sessions.process(partition, events, nowMs),
        transitions: transitions.process(partition, transitionsFrom(visitorPaths.process(partition, events, nowMs)), nowMs),
        active: active.process(partition, events, nowMs),
      })
      return outputs
    },
    onProcessingTime(nowMs) {
      const outputs: OutputRows = {}
      const moved = transitionsFrom(visitorPaths.onProcessingTime(nowMs))
      route(outputs, {
        breakdown: breakdown.onProcessingTime(nowMs),
        sessions: sessions.onProcessingTime(nowMs),
        transitions: [...transitions.process(partition, moved, nowMs), ...transitions.onProcessingTime(nowMs)],
        active: active.onProcessingTime(nowMs),
      })
      return outputs
    },
    snapshot() {
      return joinSnapshots([deduplicator.snapshot(), breakdown.snapshot(), sessions.snapshot(), visitorPaths.snapshot(), transitions.snapshot(), active.snapshot(), numberPart(lateForTransitions)])
    },
    restore(bytes): RestoreResult {
      let parts: Uint8Array[]
      let restoredCount: number
      try {
        parts = splitSnapshot(bytes, 7)
        restoredCount = readNumberPart(parts[6]!)
      } catch (error) {
        return { ok: false, reason: (error as Error).message }
      }
      const results = [
        deduplicator.restore(parts[0]!), restoreBreakdown(breakdown, parts[1]!), sessions.restore(parts[2]!),
        visitorPaths.restore(parts[3]!), transitions.restore(parts[4]!), active.restore(parts[5]!),
      ]
      lateForTransitions = restoredCount
      return results.find((result) => !result.ok) ?? { ok: true }
    },
    stats() {
      const windows = [breakdown.stats(), sessions.stats(), transitions.stats(), active.stats()]
      return {
        watermark: sessions.stats().watermark,
        stateBytes: windows.reduce((total, s) => total + s.stateBytes, 0) + visitorPaths.stats().stateBytes + deduplicator.heapBytes(),
        keys: windows.reduce((total, s) => total + s.keys, 0),
        late: sessions.stats().late,
        overflow: windows.reduce((total, s) => total + s.overflowKeysPerWindow + s.overflowStateBytes, 0),
        duplicates: deduplicator.duplicates,
        rememberedIds: deduplicator.size,
        lateForTransitions,
        /** Visitors whose last page is remembered for the next transition; let go after the inactivity gap. */
        trackedVisitors: visitorPaths.stats().keys,
      }
    },
  }
}

function armExpiry(state: VisitorPath, time: number, context: { setTimer(domain: 'event', time: number, tag: string): void }): void {
  state.expireAt = time
  context.setTimer('event', time, 'expire')
}

function entryOf(event: ClickEvent) {
  return {
    path: event.path, referrer_domain: event.referrer_domain, utm_source: event.utm_source, utm_medium: event.utm_medium, utm_campaign: event.utm_campaign,
    device_type: event.device_type, browser: event.browser, os: event.os, country: event.country ?? '',
  }
}

