/**
 * A /api/v1/live client that reconnects with backoff and resumes: it remembers the last `seq` of
 * each channel (and the tail's instance) and sends them as `since` when it subscribes again, so
 * counter charts get the seconds they missed and the tail continues where it stopped.
 */
export interface LiveMessage {
  readonly type: string
  readonly channel?: string
  readonly seq?: number
  readonly instance?: string
  readonly data?: any
  readonly points?: ReadonlyArray<{ seq: number; data: any }>
  readonly [field: string]: unknown
}

export interface Subscription {
  readonly channel: string
  readonly filter?: Record<string, string>
}

export class LiveSocket {
  private socket: WebSocket | undefined
  private readonly last = new Map<string, number>()
  private tailInstance: string | undefined
  private attempt = 0
  private stopped = false

  constructor(
    private readonly url: string,
    private readonly key: string,
    private readonly subscriptions: readonly Subscription[],
    private readonly onMessage: (message: LiveMessage) => void,
    private readonly onState: (state: 'connecting' | 'live' | 'offline', detail?: string) => void,
  ) {
    this.connect()
  }

  stop(): void {
    this.stopped = true
    this.socket?.close(1000)
  }

  private connect(): void {
    this.onState('connecting')
    const socket = new WebSocket(this.url)
    this.socket = socket
    socket.onopen = () => {
      // Browsers cannot set headers on a WebSocket; the key goes in the first message, not the URL.
      socket.send(JSON.stringify({ type: 'auth', key: this.key }))
      for (const { channel, filter } of this.subscriptions) {
        const since = channel === 'tail'
          ? (this.tailInstance !== undefined && this.last.has('tail') ? { instance: this.tailInstance, seq: this.last.get('tail') } : undefined)
          : this.last.get(channel)
        socket.send(JSON.stringify({ type: 'subscribe', channel, ...(filter ? { filter } : {}), ...(since !== undefined ? { since } : {}) }))
      }
    }
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as LiveMessage
      if (message.type === 'hello') {
        this.attempt = 0
        this.onState('live')
      }
      if (message.channel !== undefined && !this.fresh(message)) return
      this.onMessage(message)
    }
    socket.onclose = (event) => {
      if (this.stopped) return
      this.onState('offline', event.reason || `closed (${event.code})`)
      if (event.code === 4401) return // a wrong key: retrying will not help
      const delay = Math.min(10_000, 500 * 2 ** this.attempt++) * (0.5 + Math.random() / 2)
      setTimeout(() => this.connect(), delay)
    }
  }

  /** Drops what was already seen (a resumed history overlaps the live ticks) and records the rest. */
  private fresh(message: LiveMessage): boolean {
    const channel = message.channel!
    if (message.type === 'subscribed' && channel === 'tail') {
      this.tailInstance = message.instance
      this.last.set('tail', message.seq ?? 0)
      return true
    }
    if (message.type === 'history' && message.points) {
      const after = this.last.get(channel) ?? -1
      const points = message.points.filter((point) => point.seq > after)
      if (points.length > 0) this.last.set(channel, points.at(-1)!.seq)
      ;(message as { points: unknown }).points = points
      return points.length > 0
    }
    if (message.type !== 'data' || message.seq === undefined) return true
    if (channel === 'tail') {
      this.last.set('tail', Math.max(this.last.get('tail') ?? 0, message.seq))
      return true
    }
    if (message.seq <= (this.last.get(channel) ?? -1)) return false
    this.last.set(channel, message.seq)
    return true
  }
}
