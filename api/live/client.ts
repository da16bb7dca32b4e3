import type { WebSocket } from 'ws'
import { CLOSE, type Channel, type TailFilter } from './protocol.ts'

const OPEN = 1

/** One connected, authenticated socket and what it subscribed to. */
export class LiveClient {
  readonly subscriptions = new Map<Channel, { readonly filter?: TailFilter }>()
  /** Cleared by each heartbeat ping, set by the pong; a client still clear at the next ping is dead. */
  alive = true

  constructor(
    readonly socket: WebSocket,
    readonly projectId: string,
    private readonly maxBufferedBytes: number,
    private readonly onTooSlow: (client: LiveClient) => void,
  ) {}

  /**
   * Sends unless the client has fallen behind: past the bound, the client is closed with 4008
   * instead of letting its queue grow. The close frame queues behind what is buffered, so a client
   * that resumes reading still learns why; one that never does is cut off by ws's close timeout.
   * Frames are prepared once for all subscribers (a Buffer sent as text).
   */
  send(frame: Buffer | string): boolean {
    const { socket } = this
    if (socket.readyState !== OPEN) return false
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      socket.close(CLOSE.tooSlow, `too slow: more than ${this.maxBufferedBytes} bytes unsent`)
      this.onTooSlow(this)
      return false
    }
    socket.send(frame, { binary: false })
    return true
  }

  sendJson(message: unknown): boolean {
    return this.send(JSON.stringify(message))
  }
}
