import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import { METRICS, type MetricDefinition } from './catalog.ts'
import { watchThread } from './thread-watch.ts'

export { METRICS, DEFAULT_METRICS, catalogueNames, selectableNames, seriesNames, type MetricDefinition, type MetricKey } from './catalog.ts'

type Definitions = typeof METRICS
type LabelsOf<D> = D extends { readonly labels: readonly (infer L)[] } ? (L extends string ? L : never) : never
type MetricOf<D> = D extends { readonly type: 'counter' } ? Counter<LabelsOf<D>>
  : D extends { readonly type: 'gauge' } ? Gauge<LabelsOf<D>>
  : Histogram<LabelsOf<D>>

/** The catalogue's metrics as prom-client objects, typed by their labels. */
export type EddyMetrics = { readonly [K in keyof Definitions]: MetricOf<Definitions[K]> }

export interface CreateMetricsOptions {
  /** Also register prom-client's process_* and nodejs_* defaults (default true). */
  readonly defaults?: boolean
}

export interface CreateProcessMetricsOptions extends CreateMetricsOptions {
  /**
   * The thread these metrics are built on (`main`, `processors`): its heap and event-loop delay
   * are read at every scrape into the eddy_thread_* gauges under this label. None, none read.
   */
  readonly thread?: string
  readonly onCollectError?: (error: unknown) => void
}

/**
 * Builds every catalogue metric on `registry`. A service creates all of them, even those another
 * service updates, so each process's /metrics lists the same names (a panel shows 0, not "no data").
 */
export function createMetrics(registry: Registry, options: CreateMetricsOptions = {}): EddyMetrics {
  if (options.defaults ?? true) collectDefaultMetrics({ register: registry })
  const metrics: Record<string, unknown> = {}
  for (const [key, definition] of Object.entries(METRICS) as [string, MetricDefinition][]) metrics[key] = build(definition, registry)
  return Object.freeze(metrics) as unknown as EddyMetrics
}

function build(definition: MetricDefinition, registry: Registry) {
  const common = { name: definition.name, help: definition.help, labelNames: [...definition.labels], registers: [registry] }
  switch (definition.type) {
    case 'counter':
      return new Counter(common)
    case 'gauge':
      return new Gauge(common)
    case 'histogram':
      return new Histogram({ ...common, buckets: [...(definition.buckets ?? [])] })
  }
}

/** A registry's metrics as they cross to another thread (`registry.getMetricsAsJSON()`). */
export type ThreadMetrics = MetricObjectWithValues<MetricValue<string>>[]

export interface ProcessMetrics {
  readonly registry: Registry
  readonly metrics: EddyMetrics
  /**
   * Runs `collect` before every scrape. Gauges that mirror another component's state (consumer
   * lag, watermarks, connected clients) are read then, once per scrape, instead of being kept
   * current on the hot path. Returns a function that removes it (a server that closes).
   */
  onScrape(collect: () => void | Promise<void>): () => void
  /**
   * Adds the metrics of another thread of this process (a worker's registry, as JSON) to every
   * render: the same names are summed, so a counter one thread increments and the other leaves
   * at 0 reads as the process's. Returns a function that removes it.
   */
  alongside(source: () => Promise<ThreadMetrics>): () => void
  /** Runs the collectors, then renders; a collector that fails leaves its gauges as they were. */
  render(): Promise<{ contentType: string; body: string }>
  /** What render() shows, as JSON: what a thread hands the one that serves /metrics, or a test reads. */
  json(): Promise<ThreadMetrics>
  /** Stops watching the thread (the registry still renders). */
  close(): void
}

/**
 * One registry and the catalogue's metrics for a process; `cli/runtime.ts` builds it once and
 * passes it down, so nothing registers on prom-client's global registry.
 */
export function createProcessMetrics(options: CreateProcessMetricsOptions = {}): ProcessMetrics {
  const registry = new Registry()
  const metrics = createMetrics(registry, options)
  const collectors = new Set<() => void | Promise<void>>()
  const threads = new Set<() => Promise<ThreadMetrics>>()
  const watch = options.thread === undefined ? undefined : watchThread()
  const labels = { thread: options.thread ?? '' }
  const readThread = () => {
    if (!watch) return
    const reading = watch.read()
    metrics.threadHeapUsed.set(labels, reading.heapUsedBytes)
    metrics.threadHeapLive.set(labels, reading.heapLiveBytes)
    metrics.threadEventLoopDelayP99.set(labels, reading.eventLoopDelayP99Seconds)
    metrics.threadEventLoopDelayMax.set(labels, reading.eventLoopDelayMaxSeconds)
  }
  /** Runs the collectors, then reads the other threads: this registry's metrics and theirs. */
  const collect = async (): Promise<ThreadMetrics[]> => {
    readThread()
    const results = await Promise.allSettled([...collectors].map(async (run) => run()))
    for (const result of results) if (result.status === 'rejected') options.onCollectError?.(result.reason)
    const others: ThreadMetrics[] = []
    for (const other of await Promise.allSettled([...threads].map((source) => source()))) {
      if (other.status === 'fulfilled') others.push(other.value)
      else options.onCollectError?.(other.reason)
    }
    return others
  }
  /**
   * Only the series the threads share are summed: aggregate() applies each metric's own
   * aggregator, and prom-client's process defaults (this thread's alone) include some it would
   * leave out (process_start_time_seconds, which Grafana's job variable reads).
   */
  const merge = async (others: ThreadMetrics[]) => {
    const shared = new Set(others.flat().map((metric) => metric.name))
    const mine = (await registry.getMetricsAsJSON()).filter((metric) => shared.has(metric.name))
    const own = registry.getMetricsAsArray().map((metric) => metric.name).filter((name) => !shared.has(name))
    return { summed: AggregatorRegistry.aggregate([mine, ...others]), own }
  }
  return {
    registry,
    metrics,
    alongside(source) {
      const entry = () => source()
      threads.add(entry)
      return () => void threads.delete(entry)
    },
    onScrape(collect) {
      // A wrapper, so one function registered twice is two entries, each removed by its own handle.
      const entry = () => collect()
      collectors.add(entry)
      return () => void collectors.delete(entry)
    },
    async render() {
      const others = await collect()
      if (others.length === 0) return renderMetrics(registry)
      const { summed, own } = await merge(others)
      const body = [
        (await summed.metrics()).trimEnd(),
        ...(await Promise.all(own.map((name) => registry.getSingleMetricAsString(name)))),
      ].join('\n')
      return { contentType: registry.contentType, body: `${body}\n` }
    },
    async json() {
      const others = await collect()
      if (others.length === 0) return registry.getMetricsAsJSON()
      const { summed, own } = await merge(others)
      const mine = await registry.getMetricsAsJSON()
      return [...(await summed.getMetricsAsJSON()), ...mine.filter((metric) => own.includes(metric.name))]
    },
    close() {
      watch?.stop()
    },
  }
}

/** The body and content type of a /metrics answer. */
export async function renderMetrics(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() }
}
