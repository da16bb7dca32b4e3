import { checkCounterArguments, checkIncrement, COUNTER_RETAINED_WINDOWS, jsonCopy, type CounterWindow, type LiveHandler, type LiveHub, type Unsubscribe } from './port.ts'

export interface MemoryLiveHubOptions {
  readonly clock?: () => number
  readonly onHandlerError?: (error: unknown, channel: string) => void
}

/** One process's hub: the embedded default, where the one api instance is the whole audience. */
export function createMemoryLiveHub(options: MemoryLiveHubOptions = {}): LiveHub {
  const clock = options.clock ?? Date.now
  const channels = new Map<string, Set<LiveHandler>>()
  const counters = new Map<string, { readonly windowMs: number; readonly windows: Map<number, number> }>()
  // Counters nobody increments any more are dropped when the map has doubled since the last sweep.
  let sweepAt = 1_024

  function sweep(now: number) {
    for (const [id, counter] of counters) {
      const newest = Math.max(...counter.windows.keys())
      if (newest <= Math.floor(now / counter.windowMs) - COUNTER_RETAINED_WINDOWS) counters.delete(id)
    }
    sweepAt = Math.max(1_024, counters.size * 2)
  }

  return {
    async publish(channel, message) {
      const json = jsonCopy(message)
      const handlers = channels.get(channel)
      if (handlers === undefined) return true
      for (const handler of [...handlers]) {
        setImmediate(() => {
          if (!handlers.has(handler)) return
          try {
            handler(JSON.parse(json))
          } catch (error) {
            options.onHandlerError?.(error, channel)
          }
        })
      }
      return true
    },

    subscribe(channel, handler): Unsubscribe {
      let handlers = channels.get(channel)
      if (handlers === undefined) channels.set(channel, (handlers = new Set()))
      const own = handlers
      own.add(handler)
      const unsubscribe = () => {
        own.delete(handler)
        if (own.size === 0 && channels.get(channel) === own) channels.delete(channel)
      }
      return Object.assign(unsubscribe, { ready: Promise.resolve() })
    },

    async incrementCounter(name, by, windowMs) {
      checkCounterArguments(windowMs)
      checkIncrement(by)
      const id = `${name}\u0000${windowMs}`
      const now = clock()
      let counter = counters.get(id)
      if (counter === undefined) {
        if (counters.size >= sweepAt) sweep(now)
        counters.set(id, (counter = { windowMs, windows: new Map() }))
      }
      const { windows } = counter
      const index = Math.floor(now / windowMs)
      if (!windows.has(index)) for (const old of windows.keys()) if (old <= index - COUNTER_RETAINED_WINDOWS) windows.delete(old)
      windows.set(index, (windows.get(index) ?? 0) + by)
      return true
    },

    async readCounter(name, windowMs, count): Promise<readonly CounterWindow[]> {
      const windows = checkCounterArguments(windowMs, count)
      const stored = counters.get(`${name}\u0000${windowMs}`)?.windows
      const current = Math.floor(clock() / windowMs)
      return Array.from({ length: windows }, (_, offset) => {
        const index = current - windows + 1 + offset
        return { start: index * windowMs, count: stored?.get(index) ?? 0 }
      })
    },

    async close() {
      channels.clear()
      counters.clear()
    },
  }
}
