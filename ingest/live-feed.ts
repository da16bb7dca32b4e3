import type { EventByStream } from '../core/codec/avro-codec.ts'
import { LIVE_WINDOW_MS, liveCounters, TAIL_MESSAGE_CHARS, tailChannel, type TailEvent } from '../core/live/feed.ts'
import type { LiveHub } from '../core/live/port.ts'
import type { Logger } from '../core/logging/logger.ts'
import type { Stream } from '../schemas/avro/catalog.ts'

export interface LiveFeedOptions {
  readonly hub: LiveHub
  /** Most tail events per project per second from this instance (default 50); the rest are not sampled. */
  readonly tailPerSecond?: number
  /** How often counts and tail samples go to the hub (default 200 ms). */
  readonly flushMs?: number
  readonly clock?: () => number
  readonly logger?: Logger
}

/**
 * Feeds the LiveHub from accepted events: per-project counters and a bounded, sampled tail.
 * Counting happens in memory and reaches the hub once per flush, so the hot path costs a few map
 * updates and Redis sees a handful of commands per flush, not one per event. Everything is best
 * effort: the hub never fails or slows ingest (its writes report false instead of throwing).
 */
export class LiveFeed {
  private counts = new Map<string, number>()
  private tails = new Map<string, TailEvent[]>()
  private readonly budgets = new Map<string, { tokens: number; at: number }>()
  private readonly timer: NodeJS.Timeout
  private flushing: Promise<void> | undefined
  private readonly tailPerSecond: number
  private readonly clock: () => number

  constructor(private readonly options: LiveFeedOptions) {
    this.tailPerSecond = options.tailPerSecond ?? 50
    this.clock = options.clock ?? Date.now
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 200)
    this.timer.unref()
  }

  /** Called once the events are durable (after the bus acknowledged them). */
  record<S extends Stream>(stream: S, events: readonly EventByStream[S][]): void {
    for (const event of events) {
      const projectId = event.project_id
      this.add(liveCounters.events(projectId, stream), 1)
      if (stream === 'click') {
        if ((event as EventByStream['click']).type === 'pageview') this.add(liveCounters.pageviews(projectId), 1)
      } else if (stream === 'log') {
        this.add(liveCounters.logLevel(projectId, (event as EventByStream['log']).level), 1)
      } else {
        this.add(liveCounters.notificationStatus(projectId, (event as EventByStream['notification']).status), 1)
      }
    }
    // One request carries one project's events; the grouping is for callers that mix them.
    const byProject = new Map<string, EventByStream[S][]>()
    for (const event of events) {
      const group = byProject.get(event.project_id)
      if (group === undefined) byProject.set(event.project_id, [event])
      else group.push(event)
    }
    for (const [projectId, group] of byProject) this.sample(projectId, stream, group)
  }

  /** Sends what was counted and sampled since the last flush; one flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.send().finally(() => (this.flushing = undefined))
    return this.flushing
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.flushing
    await this.flush()
  }

  private add(name: string, by: number): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by)
  }

  /** Spreads the project's per-second budget evenly over a batch rather than taking its head. */
  private sample<S extends Stream>(projectId: string, stream: S, events: readonly EventByStream[S][]): void {
    const now = this.clock()
    const budget = this.budgets.get(projectId) ?? { tokens: this.tailPerSecond, at: now }
    budget.tokens = Math.min(this.tailPerSecond, budget.tokens + ((now - budget.at) / 1000) * this.tailPerSecond)
    budget.at = now
    this.budgets.set(projectId, budget)
    const take = Math.min(events.length, Math.floor(budget.tokens))
    if (take === 0) return
    budget.tokens -= take
    let tail = this.tails.get(projectId)
    if (tail === undefined) this.tails.set(projectId, (tail = []))
    const stride = events.length / take
    for (let index = 0; index < take; index++) tail.push(trim(stream, events[Math.floor(index * stride)]!))
  }

  private async send(): Promise<void> {
    const counts = this.counts
    const tails = this.tails
    if (counts.size === 0 && tails.size === 0) return
    this.counts = new Map()
    this.tails = new Map()
    const { hub } = this.options
    const results = await Promise.all([
      ...[...counts].map(([name, by]) => hub.incrementCounter(name, by, LIVE_WINDOW_MS)),
      ...[...tails].map(([projectId, events]) => hub.publish(tailChannel(projectId), { events })),
    ])
    if (results.includes(false)) this.options.logger?.debug({ failed: results.filter((ok) => !ok).length }, 'live hub did not take part of the live feed')
  }
}

function trim<S extends Stream>(stream: S, event: EventByStream[S]): TailEvent {
  const base = { stream, id: event.event_id, ts: event.ts, received: event.received_at }
  if (stream === 'click') {
    const click = event as EventByStream['click']
    return { ...base, type: click.type, name: click.name, path: click.path, referrer: click.referrer_domain, country: click.country ?? '', browser: click.browser, device: click.device_type }
  }
  if (stream === 'log') {
    const log = event as EventByStream['log']
    return { ...base, level: log.level, service: log.service, message: log.message.slice(0, TAIL_MESSAGE_CHARS) }
  }
  const notification = event as EventByStream['notification']
  return { ...base, channel: notification.channel, status: notification.status, provider: notification.provider, template: notification.template }
}
