export interface RetryOptions {
  /** Attempts in all; Infinity retries until `signal` aborts (used where giving up would lose data). */
  readonly attempts: number
  readonly minDelayMs: number
  readonly maxDelayMs: number
  readonly retriable?: (error: unknown) => boolean
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void
  readonly signal?: AbortSignal
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  readonly random?: () => number
}

/** Errors from adapters say whether trying again can help; anything else is assumed transient. */
export function isRetriable(error: unknown): boolean {
  const flag = (error as { retriable?: unknown } | null)?.retriable
  return flag === undefined ? true : flag === true
}

/** Exponential backoff with full jitter: the one retry policy every adapter call goes through. */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? abortableSleep
  const random = options.random ?? Math.random
  const retriable = options.retriable ?? isRetriable
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt)
    } catch (error) {
      if (attempt >= options.attempts || !retriable(error) || options.signal?.aborted) throw error
      const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** (attempt - 1))
      const delay = Math.round(options.minDelayMs + random() * (ceiling - options.minDelayMs))
      options.onRetry?.(error, attempt, delay)
      await sleep(delay, options.signal)
    }
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
