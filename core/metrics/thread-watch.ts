import { monitorEventLoopDelay } from 'node:perf_hooks'
import { GCProfiler, getHeapStatistics } from 'node:v8'

/** One thread's heap and event loop, as read at a scrape. */
export interface ThreadReading {
  /** V8 heap in use now, garbage included. */
  readonly heapUsedBytes: number
  /**
   * Heap in use right after the thread's smallest full collection since the last reading, as V8
   * recorded it at the end of that collection: what is alive. heapUsed at an arbitrary moment also
   * holds the garbage V8 lets pile up before its next mark-compact, which grows with the live heap
   * and would read as growth. A reading with no full collection since the one before keeps the one
   * before's figure.
   */
  readonly heapLiveBytes: number
  /** Event-loop delay since the last reading: 99th percentile and maximum, in seconds. */
  readonly eventLoopDelayP99Seconds: number
  readonly eventLoopDelayMaxSeconds: number
}

export interface ThreadWatch {
  /** The figures since the last call; starts the next interval. */
  read(): ThreadReading
  stop(): void
}

/**
 * Watches the heap and event loop of the thread it is called on. Each thread of a process has a
 * V8 heap and an event loop of its own, and prom-client's nodejs_* defaults describe only the one
 * that registered them; the processors' thread in `eddy start` needs its own figures (its live
 * heap is what the state store bounds, its event loop what a checkpoint pause stalls).
 */
export function watchThread(): ThreadWatch {
  // 10 ms resolution, as prom-client's own nodejs_eventloop_lag_* use.
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  let live = getHeapStatistics().used_heap_size
  let liveInInterval = Number.POSITIVE_INFINITY
  // V8's own record of each collection, heap after it included: read at a callback instead, a busy
  // thread's figure would carry whatever it allocated before the callback got its turn.
  const collections = new GCProfiler()
  collections.start()
  const fold = () => {
    const recorded = collections.stop()
    collections.start()
    for (const collection of recorded?.statistics ?? []) {
      if (collection.gcType === 'MarkSweepCompact') liveInInterval = Math.min(liveInInterval, collection.afterGC.heapStatistics.usedHeapSize)
    }
  }
  // The profiler keeps every collection until it is stopped: folded every 10 s, scraped or not.
  const folding = setInterval(fold, 10_000)
  folding.unref()
  return {
    read() {
      fold()
      if (Number.isFinite(liveInInterval)) live = liveInInterval
      liveInInterval = Number.POSITIVE_INFINITY
      // The histogram is in nanoseconds; an interval with no delay recorded reads 0, not NaN.
      const seconds = (nanoseconds: number) => (Number.isFinite(nanoseconds) ? nanoseconds / 1e9 : 0)
      const reading = {
        heapUsedBytes: getHeapStatistics().used_heap_size,
        heapLiveBytes: live,
        eventLoopDelayP99Seconds: delay.count > 0 ? seconds(delay.percentile(99)) : 0,
        eventLoopDelayMaxSeconds: delay.count > 0 ? seconds(delay.max) : 0,
      }
      delay.reset()
      return reading
    },
    stop() {
      delay.disable()
      clearInterval(folding)
      collections.stop()
    },
  }
}
