/**
 * Request and reply between two threads over one port both sides also use for other messages:
 * the bus served to another thread (core/bus/thread) and ClickHouse served to another thread
 * (core/clickhouse/thread) both speak it.
 */

export interface Port {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void
}

/** An error as it crosses: the message, and the fields a caller on the other side reads. */
export interface WireError {
  readonly message: string
  /** Which kind of error to build again; the codec decides what each means. */
  readonly kind?: string
  readonly fields?: Readonly<Record<string, string | number | boolean>>
}

export type Reply =
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly result?: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError }

/** How one side's errors cross: what the other side's callers test (instanceof, code) must survive. */
export interface ErrorCodec {
  toWire(error: unknown): WireError
  fromWire(error: WireError): Error
}

export const PLAIN_ERRORS: ErrorCodec = {
  toWire: (error) => ({ message: error instanceof Error ? error.message : String(error) }),
  fromWire: (error) => new Error(error.message),
}

/** Calls answered by a Reply of the same id. */
export class Calls {
  private next = 1
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  private closed?: Error

  constructor(private readonly port: Port, private readonly errors: ErrorCodec = PLAIN_ERRORS) {}

  /** `onId` learns the call's id before it is posted (to refer to the call later, as an abort does). */
  call<T>(message: Record<string, unknown>, transfer: readonly Transferable[] = [], onId?: (id: number) => void): Promise<T> {
    if (this.closed) return Promise.reject(this.closed)
    const id = this.next++
    onId?.(id)
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.port.postMessage({ ...message, id }, transfer)
    })
  }

  /** Settles the call a Reply answers; false when the message answers none of ours. */
  settle(reply: Reply): boolean {
    const waiting = this.waiting.get(reply.id)
    if (waiting === undefined) return false
    this.waiting.delete(reply.id)
    if (reply.ok) waiting.resolve(reply.result)
    else waiting.reject(this.errors.fromWire(reply.error))
    return true
  }

  /** Fails a call now, whatever its answer will be (ignored when it comes): the caller gave up. */
  abandon(id: number, error: Error): void {
    const waiting = this.waiting.get(id)
    if (waiting === undefined) return
    this.waiting.delete(id)
    waiting.reject(error)
  }

  /** Every call still waiting fails, and every later one: the other side is gone. */
  failAll(error: Error): void {
    this.closed = error
    for (const waiting of this.waiting.values()) waiting.reject(error)
    this.waiting.clear()
  }
}

/**
 * Answers a call of the other side with what `work` resolves to, or its error. `transferOf` names
 * buffers of the result to move rather than copy (a query's result bytes).
 */
export async function answer<T>(port: Port, id: number, work: () => Promise<T>, errors: ErrorCodec = PLAIN_ERRORS, transferOf?: (result: T) => readonly Transferable[]): Promise<void> {
  let result: T
  try {
    result = await work()
  } catch (error) {
    port.postMessage({ kind: 'reply', id, ok: false, error: errors.toWire(error) } satisfies Reply)
    return
  }
  try {
    port.postMessage({ kind: 'reply', id, ok: true, result } satisfies Reply, transferOf?.(result) ?? [])
  } catch (error) {
    // A result that cannot cross (not cloneable): the caller must still hear, or it waits for ever.
    port.postMessage({ kind: 'reply', id, ok: false, error: errors.toWire(error) } satisfies Reply)
  }
}
