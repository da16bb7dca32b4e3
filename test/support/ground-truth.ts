import { partitionForKey } from '../../core/bus/embedded/murmur2.ts'
import { SeededRandom } from '../../traffic/random.ts'
import { generateTraffic } from '../../traffic/generator.ts'
import { CLICK_DIMENSIONS } from '../../processors/jobs/clickstream.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

export type Arrival = 'on-time' | 'late-accepted' | 'too-late'

/** A clickstream event as the oracle sees it (what ingest will make of the Segment payload). */
export interface TruthClick {
  readonly messageId: string
  readonly visitor: string
  readonly ts: number
  readonly pageview: boolean
  readonly path: string
  readonly dimensions: Record<string, string>
  readonly arrival: Arrival
}

export interface GroundTruthStream {
  /** Segment payloads in send order, duplicates included. */
  readonly payloads: Record<string, unknown>[]
  /** One event per partition, far ahead, to be sent last under another project's key. */
  readonly flush: Record<string, unknown>[]
  readonly clicks: readonly TruthClick[]
  readonly duplicates: number
}

export interface DisorderSettings {
  readonly outOfOrdernessMs: number
  readonly allowedLatenessMs: number
}

/**
 * Clicks with disorder, duplicates and late events whose fate is fixed by construction, provided
 * requests are sent one at a time: on-time events arrive within half the out-of-orderness, late
 * ones past the watermark but well within the allowed lateness, too-late ones an hour behind.
 * A flush event per partition (another project) moves every partition's watermark past the end.
 */
export function groundTruthStream(options: StreamOptions): GroundTruthStream {
  const { arrivals, payloads, duplicates, flushAt } = arrange({ click: 1, log: 0, notification: 0 }, options)
  const flush = Array.from({ length: options.partitions }, (_, partition) => {
    const visitor = keyForPartition(partition, options.partitions)
    return { type: 'page', anonymousId: visitor, messageId: `flush-${partition}`, timestamp: new Date(flushAt).toISOString(), properties: { url: 'https://flush.example/' } }
  })
  return { payloads, flush, clicks: arrivals.map((a) => truthOf(a.payload, a.ts, a.arrival)), duplicates }
}

interface StreamOptions {
  readonly seed: number
  readonly events: number
  readonly startMs: number
  readonly partitions: number
  readonly settings: DisorderSettings
}

interface Arranged {
  readonly at: number
  readonly ts: number
  readonly payload: Record<string, any>
  readonly arrival: Arrival
}

/**
 * Generates four hours of one stream and decides each event's fate by construction: on-time events
 * arrive within half the out-of-orderness, late ones past the watermark but well within the allowed
 * lateness, too-late ones two hours behind. Late events only well inside the stream: near its ends
 * a partition's watermark may not have passed them yet, and then their fate would depend on timing.
 * 1 % of messages are sent twice, right after the original, as a retrying client does.
 */
function arrange(mix: { click: number; log: number; notification: number }, options: StreamOptions) {
  const random = new SeededRandom(options.seed)
  const span = 4 * HOUR
  const { outOfOrdernessMs, allowedLatenessMs } = options.settings
  const lateDelay = outOfOrdernessMs + Math.min(3 * MINUTE, allowedLatenessMs / 3)
  const tooLateDelay = allowedLatenessMs + 2 * HOUR
  const arrivals: Arranged[] = []
  for (const event of generateTraffic({ seed: options.seed, events: options.events, startMs: options.startMs, spanMs: span, mix })) {
    const roll = random.next()
    const inside = event.ts > options.startMs + 10 * MINUTE && event.ts < options.startMs + span - lateDelay - 10 * MINUTE
    const arrival: Arrival = !inside ? 'on-time' : roll < 0.01 && event.ts < options.startMs + span - tooLateDelay - HOUR ? 'too-late' : roll < 0.03 ? 'late-accepted' : 'on-time'
    const delay = arrival === 'too-late' ? tooLateDelay : arrival === 'late-accepted' ? lateDelay : random.next() * (outOfOrdernessMs / 2)
    arrivals.push({ at: event.ts + delay, ts: event.ts, payload: event.payload, arrival })
  }
  arrivals.sort((a, b) => a.at - b.at)
  const payloads: Record<string, unknown>[] = []
  let duplicates = 0
  for (const [index, arrival] of arrivals.entries()) {
    payloads.push(arrival.payload)
    if (random.chance(0.01) && index > 0) {
      payloads.push(arrivals[index - 1]!.payload)
      duplicates += 1
    }
  }
  return { arrivals, payloads, duplicates, flushAt: options.startMs + span + allowedLatenessMs + 2 * HOUR }
}

/** A key that Kafka's partitioner (and the embedded log's) sends to `partition`. */
function keyForPartition(partition: number, partitions: number): string {
  let n = 0
  while (partitionForKey(`flush-${n}`, partitions) !== partition) n += 1
  return `flush-${n}`
}

function truthOf(payload: Record<string, any>, ts: number, arrival: Arrival): TruthClick {
  const pageview = payload.type === 'page'
  const url = new URL(payload.properties?.url ?? payload.context?.page?.url ?? 'http://x.invalid/')
  const referrer = pageview ? (payload.properties?.referrer ?? '') : ''
  const path = pageview ? url.pathname : (payload.properties?.path ?? '')
  return {
    messageId: payload.messageId,
    visitor: payload.anonymousId,
    ts,
    pageview,
    path,
    arrival,
    dimensions: {
      total: '',
      path,
      referrer_domain: referrer ? new URL(referrer).hostname.replace(/^www\./, '') : '',
      utm_source: url.searchParams.get('utm_source') ?? '',
      utm_campaign: url.searchParams.get('utm_campaign') ?? '',
      country: payload.context?.location?.country ?? '',
    },
  }
}

/** Aggregates computed the slow, obvious way, for comparison with what the pipeline stored. */
export function clickstreamOracle(clicks: readonly TruthClick[], sessionGapMs = 30 * MINUTE) {
  const counted = clicks.filter((click) => click.arrival !== 'too-late')
  const perMinute = new Map<string, { pageviews: number; visitors: Set<string> }>()
  for (const click of counted) {
    if (!click.pageview) continue
    const minute = Math.floor(click.ts / MINUTE) * MINUTE / 1_000
    for (const dimension of ['total', 'path', 'referrer_domain', 'utm_source', 'utm_campaign', 'country'] as const) {
      const key = `${minute}|${dimension}|${click.dimensions[dimension]}`
      const entry = perMinute.get(key) ?? { pageviews: 0, visitors: new Set<string>() }
      entry.pageviews += 1
      entry.visitors.add(click.visitor)
      perMinute.set(key, entry)
    }
  }
  const clicks1m = new Map([...perMinute].map(([key, value]) => [key, { pageviews: value.pageviews, visitors: value.visitors.size }]))

  const byVisitor = new Map<string, TruthClick[]>()
  for (const click of counted) (byVisitor.get(click.visitor) ?? byVisitor.set(click.visitor, []).get(click.visitor)!).push(click)
  const sessions = new Map<string, { end: number; pageviews: number; events: number; entry: string; exit: string; bounced: number }>()
  const transitions = new Map<string, number>()
  for (const [visitor, list] of byVisitor) {
    list.sort((a, b) => a.ts - b.ts || (a.messageId < b.messageId ? -1 : 1))
    let current: TruthClick[] = []
    const close = () => {
      if (current.length === 0) return
      const pages = current.filter((c) => c.pageview)
      sessions.set(`${visitor}|${current[0]!.ts}`, {
        end: current.at(-1)!.ts, pageviews: pages.length, events: current.length,
        entry: pages[0]?.path ?? '', exit: pages.at(-1)?.path ?? '', bounced: pages.length <= 1 ? 1 : 0,
      })
      current = []
    }
    for (const click of list) {
      if (current.length > 0 && click.ts - current.at(-1)!.ts > sessionGapMs) close()
      current.push(click)
    }
    close()
    // Transitions come from pages that arrived before the watermark passed them (see the job).
    const pages = list.filter((c) => c.pageview && c.arrival === 'on-time')
    for (let index = 1; index < pages.length; index++) {
      const from = pages[index - 1]!
      const to = pages[index]!
      if (to.ts - from.ts > sessionGapMs) continue
      const key = `${Math.floor(to.ts / HOUR) * HOUR / 1_000}|${from.path}|${to.path}`
      transitions.set(key, (transitions.get(key) ?? 0) + 1)
    }
  }
  return { clicks1m, sessions, transitions, dimensions: CLICK_DIMENSIONS }
}

export interface StreamTruth {
  readonly stream: 'log' | 'notification'
  /** Payloads in send order, duplicates included. */
  readonly payloads: Record<string, unknown>[]
  /** One item per partition, far ahead, for another project. */
  readonly flush: Record<string, unknown>[]
  readonly counted: ReadonlyArray<{ ts: number; key: string }>
  readonly tooLate: number
}

/**
 * Logs or notifications with the same disorder, duplicates and late events as the clickstream
 * stream; `counted` are the events the per-minute tables must count, keyed as those tables are.
 */
export function eventStream(stream: 'log' | 'notification', options: StreamOptions): StreamTruth {
  const { arrivals, payloads, flushAt } = arrange(stream === 'log' ? { click: 0, log: 1, notification: 0 } : { click: 0, log: 0, notification: 1 }, options)
  const keyOf = (payload: Record<string, any>) => stream === 'log'
    ? `${payload.service}|${payload.level}`
    : `${payload.channel}|${payload.provider}|${payload.template}|${payload.status}`
  const counted = arrivals.filter((a) => a.arrival !== 'too-late').map((a) => ({ ts: a.ts, key: keyOf(a.payload) }))
  const timestamp = new Date(flushAt).toISOString()
  const flush = Array.from({ length: options.partitions }, (_, partition) => {
    const key = keyForPartition(partition, options.partitions)
    return stream === 'log'
      ? { service: key, level: 'info', message: 'flush', timestamp, id: `flush-log-${partition}` }
      : { notification_id: key, channel: 'email', status: 'queued', timestamp }
  })
  return { stream, payloads, flush, counted, tooLate: arrivals.filter((a) => a.arrival === 'too-late').length }
}

/** Per-minute counts keyed `${minute seconds}|${key}`, as logs_1m and notifications_1m hold them. */
export function perMinuteOracle(truth: StreamTruth): Map<string, number> {
  const counts = new Map<string, number>()
  for (const { ts, key } of truth.counted) {
    const minute = `${Math.floor(ts / MINUTE) * MINUTE / 1_000}|${key}`
    counts.set(minute, (counts.get(minute) ?? 0) + 1)
  }
  return counts
}
