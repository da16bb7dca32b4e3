import { readFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { DEFAULT_METRICS, METRICS, catalogueNames, selectableNames } from './catalog.ts'
import { METRICS_DOC, renderMetricsDoc } from './doc.ts'
import { createMetrics, createProcessMetrics, renderMetrics } from './index.ts'

describe('metric catalogue', () => {
  it('follows the Prometheus naming conventions', () => {
    for (const metric of Object.values(METRICS)) {
      expect(metric.name).toMatch(/^eddy_[a-z][a-z0-9_]*[a-z0-9]$/)
      if (metric.type === 'counter') expect(metric.name, metric.name).toMatch(/_total$/)
      else expect(metric.name, metric.name).not.toMatch(/_total$/)
      if (metric.type === 'histogram') expect(metric.buckets?.length, metric.name).toBeGreaterThan(0)
      for (const label of metric.labels) expect(label).toMatch(/^[a-z][a-z0-9_]*$/)
      expect(metric.help.length, metric.name).toBeGreaterThan(10)
    }
    const names = catalogueNames()
    expect(new Set(names).size).toBe(names.length)
  })

  it('is documented: docs/metrics.md is current and names every metric', () => {
    const committed = readFileSync(METRICS_DOC, 'utf8')
    expect(committed, 'run `npx tsx core/metrics/doc.ts`').toBe(renderMetricsDoc())
    for (const name of catalogueNames()) expect(committed).toContain(`\`${name}\``)
  })

  it('builds prom-client metrics whose exposition matches the catalogue', async () => {
    const registry = new Registry()
    const metrics = createMetrics(registry)
    metrics.ingestRequests.inc({ route: '/v1/batch', status: '202' })
    metrics.produceDuration.observe({ topic: 'eddy.clicks' }, 0.004)
    metrics.consumerLag.set({ group: 'clickstream', topic: 'eddy.clicks', partition: '0' }, 12)
    metrics.liveClients.inc()
    const exported = await registry.getMetricsAsJSON()
    const byName = new Map(exported.map((metric) => [metric.name, metric]))
    for (const definition of Object.values(METRICS)) {
      expect(byName.get(definition.name)?.type, definition.name).toBe(definition.type)
      expect(byName.get(definition.name)?.help).toBe(definition.help)
    }
    for (const definition of DEFAULT_METRICS) expect(byName.has(definition.name), `prom-client default ${definition.name}`).toBe(true)
    const { contentType, body } = await renderMetrics(registry)
    expect(contentType).toMatch(/^text\/plain/)
    expect(body).toContain('eddy_ingest_requests_total{route="/v1/batch",status="202"} 1')
    expect(body).toContain('eddy_produce_duration_seconds_bucket{le="0.005",topic="eddy.clicks"} 1')
  })

  it('lists the series names a histogram produces', () => {
    const names = selectableNames()
    expect(names.has('eddy_sink_insert_duration_seconds_bucket')).toBe(true)
    expect(names.has('eddy_sink_insert_duration_seconds_count')).toBe(true)
    expect(names.has('eddy_sink_failures_total_bucket')).toBe(false)
  })

  it('reads scrape-time gauges before rendering, and survives a collector that fails', async () => {
    const failures: unknown[] = []
    const process = createProcessMetrics({ defaults: false, onCollectError: (error) => failures.push(error) })
    let clients = 3
    const stop = process.onScrape(() => process.metrics.liveClients.set(clients))
    process.onScrape(async () => {
      throw new Error('the bus is away')
    })
    expect((await process.render()).body).toContain('eddy_live_clients 3')
    expect(failures).toHaveLength(1)
    clients = 1
    stop()
    // Removed: the gauge keeps the value of the last scrape that read it.
    expect((await process.render()).body).toContain('eddy_live_clients 3')
  })

  it("adds another thread's registry to the render: same series summed, the others as they are", async () => {
    const worker = createProcessMetrics({ defaults: false })
    worker.metrics.processedRecords.inc({ job: 'clickstream' }, 5)
    worker.metrics.processedRecords.inc({ job: 'logs' }, 7)
    worker.metrics.sinkInsertDuration.observe({ table: 'eddy.clicks_1m' }, 0.004)
    const failures: unknown[] = []
    const withWorker = createProcessMetrics({ defaults: true, onCollectError: (error) => failures.push(error) })
    withWorker.metrics.processedRecords.inc({ job: 'clickstream' }, 2)
    withWorker.metrics.liveClients.set(3)
    const stop = withWorker.alongside(() => worker.registry.getMetricsAsJSON())
    const body = (await withWorker.render()).body
    expect(body).toContain('eddy_processed_records_total{job="clickstream"} 7')
    expect(body).toContain('eddy_processed_records_total{job="logs"} 7')
    expect(body).toContain('eddy_live_clients 3')
    expect(body).toMatch(/eddy_sink_insert_duration_seconds_count\{table="eddy.clicks_1m"\} 1/)
    // This thread's process defaults, one of which a plain aggregate() would omit, are there once.
    expect(body.match(/^process_start_time_seconds /gm)).toHaveLength(1)
    expect(body.match(/^process_cpu_seconds_total /gm)).toHaveLength(1)
    expect(body.match(/^# TYPE eddy_processed_records_total /gm)).toHaveLength(1)
    // A thread that does not answer leaves this thread's series, and says so.
    const broken = withWorker.alongside(async () => {
      throw new Error('the worker is gone')
    })
    expect((await withWorker.render()).body).toContain('eddy_processed_records_total{job="clickstream"} 7')
    expect(failures).toHaveLength(1)
    broken()
    stop()
    expect((await withWorker.render()).body).toContain('eddy_processed_records_total{job="clickstream"} 2')
  })

  it("merges as JSON what it renders: a worker's answer, or a test's read", async () => {
    const worker = createProcessMetrics({ defaults: false })
    worker.metrics.processedRecords.inc({ job: 'clickstream' }, 5)
    const main = createProcessMetrics({ defaults: true })
    main.metrics.processedRecords.inc({ job: 'clickstream' }, 2)
    main.alongside(() => worker.json())
    const metrics = await main.json()
    expect(metrics.find((metric) => metric.name === 'eddy_processed_records_total')?.values).toEqual([expect.objectContaining({ labels: { job: 'clickstream' }, value: 7 })])
    expect(metrics.filter((metric) => metric.name === 'process_start_time_seconds')).toHaveLength(1)
  })
})

describe("a thread's heap and event loop", () => {
  // A full collection on demand (what --expose-gc gives), so the live heap can be made to move.
  setFlagsFromString('--expose-gc')
  const collectFully = runInNewContext('gc') as () => void
  /** V8 records the heap after the collection as it ends it: the next read has it. */
  const fullCollection = async () => collectFully()
  const value = async (metrics: ReturnType<typeof createProcessMetrics>, name: string) =>
    (await metrics.json()).find((metric) => metric.name === name)?.values.find((entry) => entry.labels.thread === 'processors')?.value

  it('reports the heap alive after a full collection, under its thread', async () => {
    const metrics = createProcessMetrics({ defaults: false, thread: 'processors' })
    try {
      await fullCollection()
      const before = (await value(metrics, 'eddy_thread_heap_live_bytes'))!
      // 64 MB kept alive across a full collection, then let go of.
      // Plain arrays of doubles: a typed array's bytes live outside the V8 heap.
      let held: number[][] | undefined = Array.from({ length: 64 }, () => new Array<number>(1 << 17).fill(1.5))
      await fullCollection()
      const holding = (await value(metrics, 'eddy_thread_heap_live_bytes'))!
      expect(holding - before).toBeGreaterThan(50 * 1024 * 1024)
      expect(held.length).toBe(64)
      held = undefined
      await fullCollection()
      const after = (await value(metrics, 'eddy_thread_heap_live_bytes'))!
      expect(holding - after).toBeGreaterThan(50 * 1024 * 1024)
      // No full collection since the last read: the figure stays, not the garbage-laden heapUsed.
      expect(await value(metrics, 'eddy_thread_heap_live_bytes')).toBe(after)
      expect(await value(metrics, 'eddy_thread_heap_used_bytes')).toBeGreaterThan(0)
    } finally {
      metrics.close()
    }
  })

  it('reports the longest event-loop delay since the last scrape', async () => {
    const metrics = createProcessMetrics({ defaults: false, thread: 'processors' })
    try {
      await value(metrics, 'eddy_thread_event_loop_delay_max_seconds')
      // A read starts the monitor's next interval, which it measures from its next tick on.
      await new Promise((resolve) => setTimeout(resolve, 30))
      const blockedUntil = performance.now() + 200
      while (performance.now() < blockedUntil) {
        // A synchronous stretch, as a long checkpoint pause is.
      }
      // The delay is recorded by the monitor's own timer, which was due first and runs before this one.
      await new Promise((resolve) => setTimeout(resolve, 20))
      // One scrape reads both: each read starts the next interval.
      const scrape = await metrics.json()
      const delay = (name: string) => scrape.find((metric) => metric.name === name)?.values[0]?.value
      expect(delay('eddy_thread_event_loop_delay_max_seconds')).toBeGreaterThanOrEqual(0.15)
      expect(delay('eddy_thread_event_loop_delay_p99_seconds')).toBeGreaterThan(0)
      // Read: the next interval starts empty of it.
      await new Promise((resolve) => setTimeout(resolve, 30))
      expect(await value(metrics, 'eddy_thread_event_loop_delay_max_seconds')).toBeLessThan(0.15)
    } finally {
      metrics.close()
    }
  })
})
