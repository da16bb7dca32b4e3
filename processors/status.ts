import type { Bus } from '../core/bus/port.ts'
import type { RunningJob } from './runner.ts'

export interface ConsumerLag {
  readonly group: string
  readonly topic: string
  readonly partitions: ReadonlyArray<{ partition: number; committed: number; high: number; lag: number }>
  readonly lag: number
}

export interface PipelineStatus {
  readonly consumers: readonly ConsumerLag[]
  /** Per job and partition: watermark, state size, late and duplicate counts (from this instance). */
  readonly jobs: ReadonlyArray<{ job: string; partition: number; stats: Record<string, number> }>
}

export interface ConsumerGroup {
  readonly group: string
  readonly topics: readonly string[]
  /** The job consuming as this group, whose tasks name the partitions this instance owns. */
  readonly job?: string
}

/** Consumer lag from the bus (committed offsets against the high watermark) and the jobs' own stats. */
export async function pipelineStatus(bus: Bus, groups: readonly ConsumerGroup[], jobs: readonly RunningJob[]): Promise<PipelineStatus> {
  const admin = bus.admin()
  const consumers: ConsumerLag[] = []
  for (const { group, topics } of groups) {
    for (const topic of topics) {
      const [offsets, committed] = await Promise.all([admin.topicOffsets(topic), admin.committedOffsets(group, topic)])
      const partitions = offsets.map(({ partition, low, high }) => {
        const position = committed.find((c) => c.partition === partition)?.offset ?? low
        return { partition, committed: position, high, lag: Math.max(0, high - position) }
      })
      consumers.push({ group, topic, partitions, lag: partitions.reduce((sum, p) => sum + p.lag, 0) })
    }
  }
  return {
    consumers,
    jobs: jobs.flatMap((job) => job.stats().map(({ partition, stats }) => ({ job: job.name, partition, stats }))),
  }
}
