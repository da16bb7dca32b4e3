import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createMetrics } from '../core/metrics/index.ts'
import { recordProcessorStatus } from './metrics.ts'
import type { PipelineStatus } from '../core/pipeline-status.ts'

const NOW = Date.UTC(2026, 0, 1, 12)
const groups = [{ group: 'eddy-clickstream', topics: ['eddy.clicks'], job: 'clickstream' }]
const lagOf = (lags: number[]) => ({
  group: 'eddy-clickstream',
  topic: 'eddy.clicks',
  partitions: lags.map((lag, partition) => ({ partition, committed: 100, high: 100 + lag, lag })),
  lag: lags.reduce((sum, lag) => sum + lag, 0),
})

async function values(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)!
  return metric.values.map(({ labels, value }) => ({ labels, value }))
}

describe('recordProcessorStatus', () => {
  it('reports lag only for the partitions this instance owns, and forgets partitions that moved away', async () => {
    const registry = new Registry()
    const metrics = createMetrics(registry, { defaults: false })
    const owningTwo: Pick<PipelineStatus, 'consumers' | 'jobs'> = {
      consumers: [lagOf([5, 7, 11, 13])],
      jobs: [
        // Partition 0 has processed 3 of its 5 uncommitted records, partition 2 all 11.
        { job: 'clickstream', partition: 0, position: 103, stats: { watermark: NOW - 30_000, stateBytes: 1_000 } },
        { job: 'clickstream', partition: 2, position: 111, stats: { watermark: -Infinity, stateBytes: 24 } },
      ],
    }
    recordProcessorStatus(metrics, owningTwo, groups, NOW)
    expect(await values(registry, 'eddy_consumer_lag')).toEqual([
      { labels: { group: 'eddy-clickstream', topic: 'eddy.clicks', partition: '0' }, value: 5 },
      { labels: { group: 'eddy-clickstream', topic: 'eddy.clicks', partition: '2' }, value: 11 },
    ])
    expect(await values(registry, 'eddy_processing_lag')).toEqual([
      { labels: { group: 'eddy-clickstream', topic: 'eddy.clicks', partition: '0' }, value: 2 },
      { labels: { group: 'eddy-clickstream', topic: 'eddy.clicks', partition: '2' }, value: 0 },
    ])
    // Partition 2 has seen no event: no watermark, so no delay series rather than Infinity.
    expect(await values(registry, 'eddy_watermark_delay_seconds')).toEqual([{ labels: { job: 'clickstream', partition: '0' }, value: 30 }])
    expect(await values(registry, 'eddy_window_state_bytes')).toEqual([{ labels: { job: 'clickstream' }, value: 1_024 }])

    // After a rebalance this instance keeps partition 0 only.
    recordProcessorStatus(metrics, { consumers: [lagOf([0, 7, 11, 13])], jobs: [owningTwo.jobs[0]!] }, groups, NOW + 1_000)
    expect(await values(registry, 'eddy_consumer_lag')).toEqual([{ labels: { group: 'eddy-clickstream', topic: 'eddy.clicks', partition: '0' }, value: 0 }])
    expect(await values(registry, 'eddy_processing_lag')).toEqual([{ labels: { group: 'eddy-clickstream', topic: 'eddy.clicks', partition: '0' }, value: 0 }])
    expect(await values(registry, 'eddy_watermark_delay_seconds')).toEqual([{ labels: { job: 'clickstream', partition: '0' }, value: 31 }])
    expect(await values(registry, 'eddy_window_state_bytes')).toEqual([{ labels: { job: 'clickstream' }, value: 1_000 }])
  })

  it('reports no lag for a group whose job it does not run', async () => {
    const registry = new Registry()
    const metrics = createMetrics(registry, { defaults: false })
    recordProcessorStatus(metrics, { consumers: [lagOf([5])], jobs: [] }, groups, NOW)
    expect(await values(registry, 'eddy_consumer_lag')).toEqual([])
  })

  it('adds the cache lookups of each task to the counter once, and counts a recreated task from zero', async () => {
    const registry = new Registry()
    const metrics = createMetrics(registry, { defaults: false })
    const reading = (hits: number, misses: number) => ({
      consumers: [lagOf([0])],
      jobs: [{ job: 'clickstream', partition: 0, position: 100, stats: { cacheBytes: 2_048, cacheHits: hits, cacheMisses: misses } }],
    })
    const lookups = async () => Object.fromEntries((await values(registry, 'eddy_state_cache_lookups_total')).map(({ labels, value }) => [labels.result, value]))
    recordProcessorStatus(metrics, reading(90, 10), groups, NOW)
    expect(await lookups()).toEqual({ hit: 90, miss: 10 })
    expect(await values(registry, 'eddy_state_cache_bytes')).toEqual([{ labels: { job: 'clickstream' }, value: 2_048 }])
    recordProcessorStatus(metrics, reading(150, 12), groups, NOW + 1_000)
    expect(await lookups()).toEqual({ hit: 150, miss: 12 })
    // The partition was restored into a new task: its lookups start again.
    recordProcessorStatus(metrics, reading(5, 1), groups, NOW + 2_000)
    expect(await lookups()).toEqual({ hit: 155, miss: 13 })
  })
})
