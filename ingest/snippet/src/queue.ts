/**
 * The delivery queue: batched by count and time, persisted (so events survive offline periods and
 * reloads), retried with exponential backoff and full jitter, honouring Retry-After. Pure apart
 * from what is injected (clock, timers, storage, transport, randomness), so tests drive it with a
 * fake clock. Size matters here (the whole snippet has a 2.5 KB budget), so it is terse.
 *
 * Tabs of one origin share the stored queue. Each item carries a lease (`l`, ms): a sender sets it
 * before sending, so two tabs do not send the same event at once; a failure sets it to the retry
 * time, so every tab honours the backoff; a tab that dies mid-send leaves a lease that expires.
 * A duplicate send can still happen in rare races; messageId makes the server count it once.
 */

/** A Segment call as the snippet sends it; messageId is the deduplication key. */
export interface Message {
  readonly messageId: string
  readonly [field: string]: unknown
}

/** A stored item: the message and its lease (ms since the epoch; 0 = sendable now). */
export interface Item {
  e: Message
  l: number
}

export interface Storage {
  get(): Item[]
  set(items: Item[]): void
}

/**
 * Sends one body; resolves with the HTTP status (0 for a network error) and the Retry-After
 * header. `unloading` asks for a request that outlives the page (fetch with keepalive).
 */
export type Transport = (body: string, unloading?: boolean) => Promise<[status: number, retryAfter?: string | null]>

export interface QueueOptions {
  readonly storage: Storage
  readonly send: Transport
  /** navigator.sendBeacon: true when the browser took the body (it will send it after unload). */
  readonly beacon?: (body: string) => boolean
  /** Wraps a batch into the request body (adds sentAt, the write key). */
  readonly body: (messages: Message[], sentAt: number) => string
  readonly now?: () => number
  readonly setTimer?: (callback: () => void, ms: number) => unknown
  readonly random?: () => number
  /** Largest batch (default 20). */
  readonly batch?: number
  /** How long an event waits for others before a send (default 1,000 ms). */
  readonly delay?: number
  /** Most events kept; the oldest are dropped beyond it (default 500). */
  readonly max?: number
}

export interface Queue {
  push(message: Message): void
  /** Sends what is due now (one request at a time); resolves when that request settled. */
  flush(): Promise<void>
  /** The page is going away: hand everything sendable to the unload transport. */
  unload(): void
  /** Connectivity came back: forget the backoff and send. */
  online(): void
  /** Drops everything queued (opt-out). */
  clear(): void
}

/** Longest backoff, and how long a send may take before its lease lapses. */
const CAP = 60_000
const LEASE = 30_000

/** Full jitter (a random delay up to the exponential bound), never shorter than Retry-After. */
export function backoff(attempt: number, retryAfter: string | null | undefined, random: () => number, now: number): number {
  const bound = Math.min(CAP, 1_000 * 2 ** attempt)
  let delay = Math.ceil(random() * bound)
  if (retryAfter) {
    const seconds = +retryAfter
    const after = seconds >= 0 ? seconds * 1_000 : Date.parse(retryAfter) - now
    if (after > delay) delay = Math.min(after, 3_600_000)
  }
  return delay
}

/** 2xx is delivered; 408, 429, 5xx and network errors are retried; any other 4xx is dropped. */
export const retriable = (status: number) => !status || status === 408 || status === 429 || status >= 500

export function createQueue(options: QueueOptions): Queue {
  const { storage, send, body } = options
  const now = options.now ?? Date.now
  const setTimer = options.setTimer ?? setTimeout
  const random = options.random ?? Math.random
  const size = options.batch ?? 20
  const max = options.max ?? 500
  const delay = options.delay ?? 1_000
  let timer = 0
  let busy = false
  let attempt = 0
  /** While backing off nothing is sent, not even events queued since. */
  let retryAt = 0

  const schedule = (ms: number) => {
    const at = now() + ms
    if (timer && timer <= at) return
    timer = at
    setTimer(() => {
      if (timer === at) {
        timer = 0
        void flush()
      }
    }, ms)
  }

  const due = (items: Item[], time: number) => items.filter((item) => item.l <= time).slice(0, size)

  /** Wakes up for the earliest item: a due one within `delay`, a leased one when its lease ends. */
  const wake = (items: Item[]) => {
    const time = now()
    if (items.length) schedule(Math.min(...items.map((item) => (item.l > time ? item.l - time : delay))))
  }

  const settle = (ids: Set<string>, keep: number | false) => {
    const items = storage.get()
    const rest = keep === false ? items.filter((item) => !ids.has(item.e.messageId)) : items
    if (keep !== false) for (const item of rest) if (ids.has(item.e.messageId)) item.l = keep
    storage.set(rest)
    return rest
  }

  /** Sends a batch whose items are leased, then removes them or sets them to retry later. */
  async function deliver(batch: Item[], time: number, unloading?: boolean): Promise<Item[]> {
    const [status, retryAfter] = await send(body(batch.map((item) => item.e), time), unloading).catch((): [number] => [0])
    const ids = new Set(batch.map((item) => item.e.messageId))
    if (!retriable(status)) {
      attempt = 0
      return settle(ids, false)
    }
    retryAt = now() + backoff(attempt++, retryAfter, random, now())
    wake(settle(ids, retryAt))
    return []
  }

  const lease = (items: Item[], batch: Item[], time: number) => {
    for (const item of batch) item.l = time + LEASE
    storage.set(items)
  }

  async function flush(): Promise<void> {
    if (busy) return
    const time = now()
    if (time < retryAt) return schedule(retryAt - time)
    const items = storage.get()
    const batch = due(items, time)
    if (!batch.length) return wake(items)
    lease(items, batch, time)
    busy = true
    const rest = await deliver(batch, time)
    busy = false
    if (due(rest, now()).length >= size) return flush()
    wake(rest)
  }

  return {
    push(message) {
      const items = storage.get()
      items.push({ e: message, l: 0 })
      storage.set(items.slice(-max))
      if (due(items, now()).length >= size) void flush()
      else schedule(delay)
    },
    flush,
    unload() {
      const time = now()
      for (;;) {
        const items = storage.get()
        const batch = due(items, time)
        if (!batch.length) return
        // A beacon the browser accepted counts as delivered: the page cannot hear back any more.
        if (options.beacon?.(body(batch.map((item) => item.e), time))) settle(new Set(batch.map((item) => item.e.messageId)), false)
        else {
          // No beacon (blocked, too large): a keepalive fetch. Its items stay stored and leased
          // until it answers; if the page is gone by then, the next visit resends them.
          lease(items, batch, time)
          void deliver(batch, time, true)
        }
      }
    },
    online() {
      attempt = retryAt = timer = 0
      const items = storage.get()
      for (const item of items) item.l = 0
      storage.set(items)
      void flush()
    },
    clear: () => storage.set([]),
  }
}
