import type { Bus } from '../core/bus/port.ts'
import type { RunningJob } from './runner.ts'
import type { ConsumerLag, ConvergenceStatus, InsertSummary, PipelineStatus } from '../core/pipeline-status.ts'

/** Where the extras of a status come from; each is optional because not every process has it. */
export interface StatusSources {
  readonly deadLetterTopic: string
  readonly lateTopic: string
  readonly sink?: () => InsertSummary
  readonly ingestRate?: () => Promise<number | undefined>
  /** Automatic convergence, where this process runs it. */
  readonly convergence?: () => ConvergenceStatus
}

export interface ConsumerGroup {
  readonly group: string
  readonly topics: readonly string[]
  /** The job consuming as this group, whose tasks name the partitions this instance owns. */
  readonly job?: string
}

/** Consumer lag from the bus (committed offsets against the high watermark) and the jobs' own stats. */
export async function pipelineStatus(bus: Bus, groups: readonly ConsumerGroup[], jobs: readonly RunningJob[], sources?: StatusSources): Promise<PipelineStatus> {
  const admin = bus.admin()
  const held = async (topic: string | undefined) => (topic ? (await admin.topicOffsets(topic)).reduce((sum, p) => sum + p.high - p.low, 0) : 0)
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
  const [deadLetters, lateEvents, ingestEventsPerSecond] = await Promise.all([held(sources?.deadLetterTopic), held(sources?.lateTopic), sources?.ingestRate?.()])
  return {
    consumers,
    jobs: jobs.flatMap((job) => job.stats().map(({ partition, position, stats }) => ({ job: job.name, partition, position, stats }))),
    halted: jobs.flatMap((job) => job.halted().map(({ partition, reason }) => ({ job: job.name, partition, reason }))),
    deadLetters,
    lateEvents,
    ...(sources?.sink ? { sink: sources.sink() } : {}),
    ...(ingestEventsPerSecond !== undefined ? { ingestEventsPerSecond } : {}),
    ...(sources?.convergence ? { convergence: sources.convergence() } : {}),
  }
}
