import type { EddyMetrics } from '../core/metrics/index.ts'
import type { PipelineStatus } from '../core/pipeline-status.ts'
import type { ConsumerGroup } from './status.ts'

export type ProcessorGauges = Pick<EddyMetrics, 'consumerLag' | 'processingLag' | 'watermarkDelay' | 'windowStateSize' | 'stateCacheSize' | 'stateCacheLookups'>

/** Per metrics registry, each task's cache lookups at the last scrape: the counter grows by the difference. */
const lookupsSeen = new WeakMap<object, Map<string, { hits: number; misses: number }>>()

/**
 * Sets the processors' gauges from one status reading, at scrape time.
 *
 * Lag is exported only for the partitions this instance owns: every replica can read the whole
 * group's offsets, and if each exported all of them `sum(eddy_consumer_lag)` would count every
 * partition once per replica. The gauges are reset first, so a partition that moved to another
 * instance stops being reported here instead of keeping its last value.
 *
 * Watermark delay is negative while a task's newest events carry future times (ingest accepts
 * them up to 24 h ahead); a task that has seen no event yet has no watermark and no series.
 */
export function recordProcessorStatus(gauges: ProcessorGauges, status: Pick<PipelineStatus, 'consumers' | 'jobs'>, groups: readonly ConsumerGroup[], nowMs: number): void {
  /** job → partition → next offset to process */
  const owned = new Map<string, Map<number, number>>()
  const stateBytes = new Map<string, number>()
  const cacheBytes = new Map<string, number>()
  const seen = lookupsSeen.get(gauges) ?? new Map<string, { hits: number; misses: number }>()
  lookupsSeen.set(gauges, seen)
  gauges.watermarkDelay.reset()
  for (const { job, partition, position, stats } of status.jobs) {
    if (stats.cacheBytes !== undefined) cacheBytes.set(job, (cacheBytes.get(job) ?? 0) + stats.cacheBytes)
    if (stats.cacheHits !== undefined || stats.cacheMisses !== undefined) {
      const task = `${job}\u0000${partition}`
      const now = { hits: stats.cacheHits ?? 0, misses: stats.cacheMisses ?? 0 }
      const before = seen.get(task) ?? { hits: 0, misses: 0 }
      // Fewer than last time: the task was created again (a restore, a partition back), counting from 0.
      const grown = (current: number, previous: number) => (current >= previous ? current - previous : current)
      gauges.stateCacheLookups.inc({ job, result: 'hit' }, grown(now.hits, before.hits))
      gauges.stateCacheLookups.inc({ job, result: 'miss' }, grown(now.misses, before.misses))
      seen.set(task, now)
    }
    let partitions = owned.get(job)
    if (partitions === undefined) owned.set(job, (partitions = new Map()))
    partitions.set(partition, position)
    stateBytes.set(job, (stateBytes.get(job) ?? 0) + (stats.stateBytes ?? 0))
    const watermark = stats.watermark
    if (watermark !== undefined && Number.isFinite(watermark)) {
      gauges.watermarkDelay.set({ job, partition: String(partition) }, (nowMs - watermark) / 1_000)
    }
  }
  gauges.windowStateSize.reset()
  for (const [job, bytes] of stateBytes) gauges.windowStateSize.set({ job }, bytes)
  gauges.stateCacheSize.reset()
  for (const [job, bytes] of cacheBytes) gauges.stateCacheSize.set({ job }, bytes)

  const jobOfGroup = new Map(groups.map(({ group, job }) => [group, job]))
  gauges.consumerLag.reset()
  gauges.processingLag.reset()
  for (const { group, topic, partitions } of status.consumers) {
    const job = jobOfGroup.get(group)
    const mine = job === undefined ? undefined : owned.get(job)
    if (mine === undefined) continue
    for (const { partition, lag, high } of partitions) {
      const position = mine.get(partition)
      if (position === undefined) continue
      const labels = { group, topic, partition: String(partition) }
      gauges.consumerLag.set(labels, lag)
      gauges.processingLag.set(labels, Math.max(0, high - position))
    }
  }
}
