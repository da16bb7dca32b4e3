import WebSocket from 'ws'

export interface LiveTestMessage {
  readonly type: string
  readonly channel?: string
  readonly seq?: number
  readonly instance?: string
  readonly data?: any
  readonly points?: Array<{ seq: number; data: any }>
  readonly [field: string]: any
}

/** A /api/v1/live client for tests: records every message and waits for the ones it expects. */
export class LiveTestClient {
  readonly messages: LiveTestMessage[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  private waiters: Array<() => void> = []

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as LiveTestMessage)
      for (const wake of this.waiters.splice(0)) wake()
    })
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() })
      for (const wake of this.waiters.splice(0)) wake()
    }))
  }

  static async connect(url: string, options: { key?: string; header?: string; headers?: Record<string, string>; autoPong?: boolean } = {}): Promise<LiveTestClient> {
    const address = `${url.replace(/^http/, 'ws')}/api/v1/live`
    const headers = { ...options.headers, ...(options.header ? { authorization: `Bearer ${options.header}` } : {}) }
    const socket = new WebSocket(address, { headers, autoPong: options.autoPong ?? true })
    const client = new LiveTestClient(socket)
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('unexpected-response', (_request, response) => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { statusCode: response.statusCode })))
      socket.once('error', reject)
    })
    if (options.key) client.send({ type: 'auth', key: options.key })
    return client
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message))
  }

  /** Resolves with the first recorded message (from `from` on) that matches, or fails after the timeout. */
  async waitFor(match: (message: LiveTestMessage) => boolean, timeoutMs = 15_000, from = 0): Promise<LiveTestMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.messages.slice(from).find(match)
      if (found) return found
      const left = deadline - Date.now()
      if (left <= 0 || this.socket.readyState === WebSocket.CLOSED) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200))
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Sum of a figure over every second of a channel received so far (history and data, each second once). */
  total(channel: string, figure: (data: any) => number): number {
    const seconds = new Map<number, any>()
    for (const message of this.messages) {
      if (message.channel !== channel) continue
      if (message.type === 'data') seconds.set(message.seq!, message.data)
      if (message.type === 'history') for (const point of message.points ?? []) seconds.set(point.seq, point.data)
    }
    let sum = 0
    for (const data of seconds.values()) sum += figure(data)
    return sum
  }

  close(): void {
    this.socket.close()
  }
}
