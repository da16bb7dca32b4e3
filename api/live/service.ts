import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import { LiveUnavailableError, type LiveHub } from '../../core/live/port.ts'
import { LiveClient } from './client.ts'
import { readCounterChannel } from './counters.ts'
import { CLOSE, COUNTER_CHANNELS, type Channel, type CounterChannel, type TailFilter } from './protocol.ts'
import { matchesTail, TailRing, type SequencedTailEvent } from './tail.ts'

export interface LiveServiceOptions {
  readonly hub: LiveHub
  /** Visitors active now, from ClickHouse (the api's realtime query, cached). */
  readonly activeVisitors?: (projectId: string) => Promise<number>
  /** What a project sees of the pipeline's health (its own traffic, never the shared topics'). */
  readonly pipelineHealth?: (projectId: string) => Promise<Record<string, unknown>>
  /** Ping interval; a client that has not answered the previous ping is dropped (default 15 s). */
  readonly heartbeatMs?: number
  /** Unsent bytes a client may have queued before it is dropped as too slow (default 1 MiB). */
  readonly maxBufferedBytes?: number
  /** Tail events kept per project for resuming (default 500). */
  readonly tailKept?: number
  /** How long the tail of a project is still followed after its last subscriber left, so a reconnect can resume (default 60 s). */
  readonly tailLingerMs?: number
  readonly logger?: FastifyBaseLogger
}

export interface LiveStats {
  readonly clients: number
  readonly tooSlow: number
  readonly dead: number
}

interface ProjectFeed {
  readonly clients: Set<LiveClient>
  tail?: TailRing
  linger?: NodeJS.Timeout
  /** Last window sent per counter channel: a tick that reads the same second twice sends it once. */
  readonly lastSeq: Map<CounterChannel, number>
}

const HISTORY_SECONDS = 60
const NEW_TAIL_REPLAY = 20
const TICK_MS = 1_000
/** Ticks run this long after each second so the ingest feed's last flush of it has landed. */
const TICK_OFFSET_MS = 300

/**
 * The live feed of one api instance. Each tick (every second) it reads each project's channels
 * once, from the LiveHub, and sends the same prepared frame to every subscriber; the tail is
 * relayed as the hub delivers it. Every instance reads the same hub, so any instance serves any
 * client, and a client may reconnect to another one.
 */
export class LiveService {
  /** Names this instance in tail resume points. */
  readonly instance = randomBytes(6).toString('base64url')
  private readonly projects = new Map<string, ProjectFeed>()
  private tickTimer: NodeJS.Timeout | undefined
  private readonly heartbeatTimer: NodeJS.Timeout
  private ticking = false
  private closed = false
  private tooSlow = 0
  private dead = 0
  private readonly maxBufferedBytes: number

  constructor(private readonly options: LiveServiceOptions) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024
    this.heartbeatTimer = setInterval(() => this.heartbeat(), options.heartbeatMs ?? 15_000)
    this.heartbeatTimer.unref()
    this.scheduleTick()
  }

  stats(): LiveStats {
    let clients = 0
    for (const feed of this.projects.values()) clients += feed.clients.size
    return { clients, tooSlow: this.tooSlow, dead: this.dead }
  }

  attach(socket: WebSocket, projectId: string): LiveClient {
    const client = new LiveClient(socket, projectId, this.maxBufferedBytes, () => this.tooSlow++)
    this.feed(projectId).clients.add(client)
    socket.on('pong', () => (client.alive = true))
    socket.on('close', () => this.detach(client))
    client.sendJson({ type: 'hello', instance: this.instance, project: projectId, heartbeatMs: this.options.heartbeatMs ?? 15_000 })
    return client
  }

  async subscribe(client: LiveClient, channel: Channel, filter: TailFilter | undefined, since: number | { instance: string; seq: number } | undefined): Promise<void> {
    if (channel === 'tail') return this.subscribeTail(client, filter, typeof since === 'object' ? since : undefined)
    client.subscriptions.set(channel, {})
    client.sendJson({ type: 'subscribed', channel })
    if (!(COUNTER_CHANNELS as readonly string[]).includes(channel)) return
    const counter = channel as CounterChannel
    // The complete seconds after `since` (or the last minute), so charts fill at once and a
    // reconnect closes its gap; counters are snapshots, nothing else is replayed.
    const current = Math.floor(Date.now() / 1000) * 1000
    const seconds = typeof since === 'number' ? Math.min(HISTORY_SECONDS, Math.max(0, (current - since) / 1000)) : HISTORY_SECONDS
    if (seconds < 1) return
    try {
      const points = await readCounterChannel(this.options.hub, counter, client.projectId, Math.ceil(seconds))
      client.sendJson({ type: 'history', channel, points: typeof since === 'number' ? points.filter((point) => point.seq > since) : points })
    } catch (error) {
      this.unavailable([client], channel, error)
    }
  }

  unsubscribe(client: LiveClient, channel: Channel): void {
    client.subscriptions.delete(channel)
    client.sendJson({ type: 'unsubscribed', channel })
    if (channel === 'tail') this.lingerIfUnused(client.projectId)
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.tickTimer)
    clearInterval(this.heartbeatTimer)
    for (const feed of this.projects.values()) {
      clearTimeout(feed.linger)
      feed.tail?.close()
      for (const client of feed.clients) client.socket.close(CLOSE.goingAway, 'server shutting down')
    }
    this.projects.clear()
  }

  private feed(projectId: string): ProjectFeed {
    let feed = this.projects.get(projectId)
    if (feed === undefined) this.projects.set(projectId, (feed = { clients: new Set(), lastSeq: new Map() }))
    return feed
  }

  private detach(client: LiveClient): void {
    const feed = this.projects.get(client.projectId)
    if (feed === undefined || !feed.clients.delete(client)) return
    if (client.subscriptions.has('tail')) this.lingerIfUnused(client.projectId)
    else if (feed.clients.size === 0 && feed.tail === undefined) this.projects.delete(client.projectId)
  }

  private async subscribeTail(client: LiveClient, filter: TailFilter | undefined, since: { instance: string; seq: number } | undefined): Promise<void> {
    const feed = this.feed(client.projectId)
    clearTimeout(feed.linger)
    feed.linger = undefined
    if (feed.tail === undefined) {
      const projectId = client.projectId
      feed.tail = new TailRing(this.options.hub, projectId, this.options.tailKept ?? 500, (events) => this.relayTail(projectId, events))
    }
    const ring = feed.tail
    await ring.ready
    if (client.socket.readyState !== 1) return
    // From here on nothing awaits, so no relayed batch can slip between the replay and the subscription.
    let replay: SequencedTailEvent[]
    let gap = false
    if (since === undefined) {
      replay = ring.recent(ring.lastSeq).filter((event) => matchesTail(event, filter)).slice(-NEW_TAIL_REPLAY)
    } else {
      const kept = since.instance === this.instance ? ring.after(since.seq) : undefined
      gap = kept === undefined
      replay = (kept ?? []).filter((event) => matchesTail(event, filter))
    }
    client.subscriptions.set('tail', { filter })
    client.sendJson({ type: 'subscribed', channel: 'tail', instance: this.instance, seq: ring.lastSeq, replayed: replay.length, gap })
    if (replay.length > 0) client.sendJson({ type: 'data', channel: 'tail', instance: this.instance, seq: replay.at(-1)!.seq, at: Date.now(), data: { events: replay } })
  }

  /** One frame per distinct filter, shared by the clients that use it. */
  private relayTail(projectId: string, events: readonly SequencedTailEvent[]): void {
    const feed = this.projects.get(projectId)
    if (feed === undefined) return
    const frames = new Map<string, Buffer | null>()
    const seq = events.at(-1)!.seq
    const at = Date.now()
    for (const client of feed.clients) {
      const subscription = client.subscriptions.get('tail')
      if (subscription === undefined) continue
      const key = JSON.stringify(subscription.filter ?? {})
      let frame = frames.get(key)
      if (frame === undefined) {
        const matching = events.filter((event) => matchesTail(event, subscription.filter))
        frame = matching.length === 0 ? null : Buffer.from(JSON.stringify({ type: 'data', channel: 'tail', instance: this.instance, seq, at, data: { events: matching } }))
        frames.set(key, frame)
      }
      if (frame !== null) client.send(frame)
    }
  }

  private lingerIfUnused(projectId: string): void {
    const feed = this.projects.get(projectId)
    if (feed === undefined || feed.tail === undefined) return
    for (const client of feed.clients) if (client.subscriptions.has('tail')) return
    clearTimeout(feed.linger)
    feed.linger = setTimeout(() => {
      feed.tail?.close()
      feed.tail = undefined
      feed.linger = undefined
      if (feed.clients.size === 0) this.projects.delete(projectId)
    }, this.options.tailLingerMs ?? 60_000)
    feed.linger.unref()
  }

  private scheduleTick(): void {
    if (this.closed) return
    const now = Date.now()
    const next = Math.floor(now / TICK_MS) * TICK_MS + TICK_MS + TICK_OFFSET_MS
    this.tickTimer = setTimeout(() => {
      this.scheduleTick()
      // A tick still waiting on a slow hub or ClickHouse is not doubled up.
      if (this.ticking) return
      this.ticking = true
      this.tick().catch((error) => this.options.logger?.error({ err: error }, 'live tick failed')).finally(() => (this.ticking = false))
    }, next - now)
    this.tickTimer.unref()
  }

  private async tick(): Promise<void> {
    const at = Date.now()
    const work: Promise<void>[] = []
    for (const [projectId, feed] of this.projects) {
      const wanted = new Map<Channel, LiveClient[]>()
      for (const client of feed.clients) {
        for (const channel of client.subscriptions.keys()) {
          if (channel === 'tail') continue
          const list = wanted.get(channel)
          if (list === undefined) wanted.set(channel, [client])
          else list.push(client)
        }
      }
      for (const [channel, clients] of wanted) {
        if (channel === 'health') {
          const health = this.options.pipelineHealth
          work.push(this.fanOut(clients, channel, async () => ({ seq: at, data: health ? await health(projectId) : { available: false } })))
        } else if (channel === 'visitors') {
          const visitors = this.options.activeVisitors
          work.push(this.fanOut(clients, channel, async () => ({ seq: at, data: { visitors: visitors ? await visitors(projectId) : null } })))
        } else {
          const counter = channel as CounterChannel
          work.push(this.fanOut(clients, channel, async () => {
            const [point] = await readCounterChannel(this.options.hub, counter, projectId, 1)
            if ((feed.lastSeq.get(counter) ?? -1) >= point!.seq) return undefined
            feed.lastSeq.set(counter, point!.seq)
            return point!
          }))
        }
      }
    }
    await Promise.all(work)
  }

  private async fanOut(clients: readonly LiveClient[], channel: Channel, compute: () => Promise<{ seq: number; data: unknown } | undefined>): Promise<void> {
    let point: { seq: number; data: unknown } | undefined
    try {
      point = await compute()
    } catch (error) {
      this.unavailable(clients, channel, error)
      return
    }
    if (point === undefined) return
    // `at` is when the frame is built: clients measure delivery lag against it.
    const frame = Buffer.from(JSON.stringify({ type: 'data', channel, seq: point.seq, at: Date.now(), data: point.data }))
    for (const client of clients) if (client.subscriptions.has(channel)) client.send(frame)
  }

  private unavailable(clients: readonly LiveClient[], channel: Channel, error: unknown): void {
    if (!(error instanceof LiveUnavailableError)) this.options.logger?.error({ err: error, channel }, 'live channel failed')
    const frame = JSON.stringify({ type: 'unavailable', channel, reason: error instanceof LiveUnavailableError ? 'the live hub is unreachable' : 'the source failed' })
    for (const client of clients) client.send(frame)
  }

  private heartbeat(): void {
    for (const feed of this.projects.values()) {
      for (const client of feed.clients) {
        if (!client.alive) {
          this.dead++
          client.socket.terminate()
          continue
        }
        client.alive = false
        client.socket.ping()
      }
    }
  }
}
