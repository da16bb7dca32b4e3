import { BusError } from '../port.ts'
import type { Reply, WireError } from './protocol.ts'

interface Port {
  postMessage(message: unknown): void
}

/** Calls answered by a Reply of the same id, over a port both sides share with other messages. */
export class Calls {
  private next = 1
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  private closed?: Error

  constructor(private readonly port: Port) {}

  call<T>(message: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(this.closed)
    const id = this.next++
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.port.postMessage({ ...message, id })
    })
  }

  /** Settles the call a Reply answers; false when the message answers none of ours. */
  settle(reply: Reply): boolean {
    const waiting = this.waiting.get(reply.id)
    if (waiting === undefined) return false
    this.waiting.delete(reply.id)
    if (reply.ok) waiting.resolve(reply.result)
    else waiting.reject(fromWire(reply.error))
    return true
  }

  /** Every call still waiting fails, and every later one: the other side is gone. */
  failAll(error: Error): void {
    this.closed = error
    for (const waiting of this.waiting.values()) waiting.reject(error)
    this.waiting.clear()
  }
}

/** Answers a call of the other side with what `work` resolves to, or its error. */
export async function answer(port: Port, id: number, work: () => Promise<unknown>): Promise<void> {
  try {
    port.postMessage({ kind: 'reply', id, ok: true, result: await work() } satisfies Reply)
  } catch (error) {
    port.postMessage({ kind: 'reply', id, ok: false, error: toWire(error) } satisfies Reply)
  }
}

export function toWire(error: unknown): WireError {
  if (error instanceof BusError) return { message: error.message, busError: { retriable: error.retriable, code: error.code } }
  return { message: error instanceof Error ? error.message : String(error) }
}

/** A BusError stays a BusError across the threads: ingest's 503 and the retry helper read its fields. */
export function fromWire(error: WireError): Error {
  if (error.busError) return new BusError(error.message, error.busError.retriable, error.busError.code as BusError['code'])
  return new Error(error.message)
}
