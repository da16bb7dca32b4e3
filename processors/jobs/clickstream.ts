import type { ClickEvent } from '../../schemas/types.generated.ts'
import { emit, type Job, type JobTask, type OutputRows } from '../job.ts'
import { Deduplicator } from '../operators/deduplicate.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { PartitionStateStore } from '../state/store.ts'
import { LATE_OUTPUT, topologyOutputs, validateTopology, type Topology } from '../topology/declaration.ts'
import { namedState } from '../topology/named-state.ts'
import { CounterPart, deduplicatorPart, storedPart, windowPart } from '../topology/parts.ts'
import { count, createWindowOperator, distinct, hopping, max, min, session, sum, tumbling } from '../window/index.ts'
import { visitorPathsOperator, type Transition } from '../operators/visitor-paths.ts'
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
export const CLICKSTREAM_TOPOLOGY: Topology = validateTopology('clickstream', {
  input: 'click',
  operators: [
    { name: 'dedup', does: 'drop repeated event_ids', feeds: ['breakdown', 'session-windows', 'visitor-paths', 'active'] },
    { name: 'breakdown', does: 'pageviews by project × dimension, tumbling 1 min: pageviews, visitors', feeds: ['clicks_1m'] },
    { name: 'session-windows', does: 'by visitor, session windows (30 min gap), early firings: start, end, entry, exit…', feeds: ['sessions', LATE_OUTPUT] },
    { name: 'visitor-paths', does: 'by visitor, pageviews in event-time order: page → page; a pageview behind the watermark is left out and reported late', feeds: ['transitions', LATE_OUTPUT] },
    { name: 'transitions', does: 'by project, from, to, tumbling 1 h: transitions', feeds: ['page_transitions_1h'] },
    { name: 'active', does: 'by project, hopping 5 min every 1 min, early firings: visitors, pageviews', feeds: ['active_visitors_5m'] },
  ],
})

export function clickstreamJob(overrides: Partial<ClickstreamSettings> = {}): Job<'click'> {
  const settings = { ...DEFAULT_CLICKSTREAM, ...overrides }
  return {
    name: 'clickstream',
    stream: 'click',
    topology: CLICKSTREAM_TOPOLOGY,
    outputs: topologyOutputs(CLICKSTREAM_TOPOLOGY),
    // Not the url, title, screen, locale, user agent fields or properties map: half of a click's decode.
    reads: ['event_id', 'project_id', 'anonymous_id', 'ts', 'type', 'path', 'referrer_domain', 'utm_source', 'utm_medium', 'utm_campaign', 'browser', 'os', 'device_type', 'country'],
    createTask: (partition, state = createHeapStateStore().partition('clickstream', partition)) => createClickstreamTask(partition, settings, state),
  }
}

function createClickstreamTask(partition: number, settings: ClickstreamSettings, state: PartitionStateStore): JobTask<ClickEvent> {
  const timing = {
    outOfOrdernessMs: settings.outOfOrdernessMs,
    allowedLatenessMs: settings.allowedLatenessMs,
    idleTimeoutMs: settings.idleTimeoutMs,
  }
  const deduplicator = new Deduplicator<ClickEvent>(deduplicationLimits(settings, settings.activeWindowMs), (e) => e.event_id, (e) => e.ts, state)

  const breakdown = createWindowOperator({
    ...timing,
    storage: { store: state, prefix: 'breakdown/' },
    ...BREAKDOWN_SHAPE,
    key: (event: ClickEvent) => joinKey(event.project_id),
    time: (event: ClickEvent) => event.ts,
    earlyFiringMs: settings.earlyFiringMs,
  })

  const sessions = createWindowOperator({
    ...timing,
    storage: { store: state, prefix: 'sessions/' },
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

  const lateForTransitions = new CounterPart('lateForTransitions')
  // Pageviews behind the watermark cannot join a path already emitted. Within the allowed lateness
  // the other operators still count them, so they reach the late topic only through this list:
  // it is what makes automatic convergence recompute the hour's transitions.
  const lateForPaths: Array<{ event: ClickEvent; latenessMs: number }> = []
  const visitorPaths = visitorPathsOperator(settings, lateForTransitions, { store: state, prefix: 'paths/' }, (event, watermark) => {
    lateForPaths.push({ event, latenessMs: watermark - event.ts })
  })

  const transitions = createWindowOperator({
    ...timing,
    storage: { store: state, prefix: 'transitions/' },
    assigner: tumbling(HOUR),
    key: (transition: Transition) => joinKey(transition.project, transition.from, transition.to),
    time: (transition: Transition) => transition.ts,
    aggregates: { transitions: count<Transition>() },
    earlyFiringMs: settings.earlyFiringMs,
  })

  const active = createWindowOperator({
    ...timing,
    storage: { store: state, prefix: 'active/' },
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

  /** Late rows for the pageviews only the paths left out: one late for the sessions too is reported by them. */
  const reportLateForPaths = (outputs: OutputRows, sessionEmissions: ReturnType<typeof sessions.process>) => {
    if (lateForPaths.length === 0) return
    const reported = new Set<ClickEvent>()
    for (const emission of sessionEmissions) if (emission.kind === 'late') reported.add(emission.event)
    for (const { event, latenessMs } of lateForPaths.splice(0)) {
      if (!reported.has(event)) emit(outputs, 'late', { event, reason: 'late-for-paths', latenessMs, job: 'clickstream' })
    }
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
      const sessionEmissions = sessions.process(partition, events, nowMs)
      route(outputs, {
        breakdown: breakdown.process(partition, events.filter(isPageview), nowMs),
        sessions: sessionEmissions,
        transitions: transitions.process(partition, transitionsFrom(visitorPaths.process(partition, events, nowMs)), nowMs),
        active: active.process(partition, events, nowMs),
      })
      reportLateForPaths(outputs, sessionEmissions)
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
    finish(nowMs) {
      const outputs: OutputRows = {}
      // Paths first: the pages they let go of are transitions the hourly windows still count.
      const moved = transitionsFrom(visitorPaths.endOfInput(nowMs))
      route(outputs, {
        breakdown: breakdown.endOfInput(nowMs),
        sessions: sessions.endOfInput(nowMs),
        transitions: [...transitions.process(partition, moved, nowMs), ...transitions.endOfInput(nowMs)],
        active: active.endOfInput(nowMs),
      })
      return outputs
    },
    ...namedState('clickstream', CLICKSTREAM_TOPOLOGY, {
      dedup: deduplicatorPart(deduplicator),
      breakdown: windowPart(breakdown, (bytes) => restoreBreakdown(breakdown, bytes)),
      'session-windows': windowPart(sessions),
      'visitor-paths': storedPart(visitorPaths, () => {
        const stats = visitorPaths.stats()
        /** Visitors whose last page is remembered for the next transition; let go after the inactivity gap. */
        return { stateBytes: stats.stateBytes, trackedVisitors: stats.keys }
      }),
      transitions: windowPart(transitions),
      active: windowPart(active),
      'visitor-paths/late': lateForTransitions,
    }, {
      clock: 'session-windows',
      positionalOrder: ['dedup', 'breakdown', 'session-windows', 'visitor-paths', 'transitions', 'active', 'visitor-paths/late'],
    }),
  }
}

function entryOf(event: ClickEvent) {
  return {
    path: event.path, referrer_domain: event.referrer_domain, utm_source: event.utm_source, utm_medium: event.utm_medium, utm_campaign: event.utm_campaign,
    device_type: event.device_type, browser: event.browser, os: event.os, country: event.country ?? '',
  }
}

