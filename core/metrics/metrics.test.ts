import { readFileSync } from 'node:fs'
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
})
