/**
 * The LiveHub port: what lets every api instance serve the same live feed. Messages fan out to
 * every subscriber of a channel in every process; counters are shared per time window. Both are
 * best effort: a live view may miss a message while the hub is down, and must not make the
 * pipeline behind it fail, so writes report success instead of throwing.
 */
export type LiveHandler = (message: unknown) => void

/** Calling it stops the handler; `ready` resolves once messages published from now on reach it. */
export type Unsubscribe = (() => void) & { readonly ready: Promise<void> }

export interface CounterWindow {
  /** Start of the window, ms since the epoch (the hub's clock: Redis TIME for the Redis adapter). */
  readonly start: number
  readonly count: number
}

export interface LiveHub {
  /** Sends a JSON-serialisable message to every subscriber; false when it could not be sent. */
  publish(channel: string, message: unknown): Promise<boolean>
  /** Handlers run outside publish(); one handler's exception does not stop the others. */
  subscribe(channel: string, handler: LiveHandler): Unsubscribe
  /** Adds `by` to the current `windowMs` window of counter `name`; false when it could not. */
  incrementCounter(name: string, by: number, windowMs: number): Promise<boolean>
  /**
   * The last `windows` windows (default 1) of `name`, oldest first, ending with the current one;
   * empty windows count 0. Rejects with LiveUnavailableError when the hub cannot answer: a count
   * the hub does not know must not be shown as 0.
   */
  readCounter(name: string, windowMs: number, windows?: number): Promise<readonly CounterWindow[]>
  close(): Promise<void>
}

export class LiveUnavailableError extends Error {
  readonly retriable = true
  constructor(cause: unknown) {
    super(`live hub unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'LiveUnavailableError'
  }
}

/** Windows kept per counter; readCounter cannot look further back. */
export const COUNTER_RETAINED_WINDOWS = 120

export function checkCounterArguments(windowMs: number, windows = 1): number {
  if (!(Number.isInteger(windowMs) && windowMs > 0)) throw new Error(`counter window must be a whole number of ms > 0, got ${windowMs}`)
  if (!(Number.isInteger(windows) && windows >= 1 && windows <= COUNTER_RETAINED_WINDOWS)) throw new Error(`windows must be 1..${COUNTER_RETAINED_WINDOWS}, got ${windows}`)
  return windows
}

/** HINCRBY takes whole numbers only; refusing others here keeps both adapters alike. */
export function checkIncrement(by: number): void {
  if (!Number.isSafeInteger(by)) throw new Error(`counter increments must be whole numbers, got ${by}`)
}

/** Handlers see what the Redis adapter would deliver: a JSON copy, never the publisher's object. */
export function jsonCopy(message: unknown): string {
  const json = JSON.stringify(message)
  if (json === undefined) throw new Error('live messages must be JSON-serialisable')
  return json
}
