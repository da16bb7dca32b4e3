import type { Bus } from '../core/bus/port.ts'
import type { EddyMetrics } from '../core/metrics/index.ts'
import type { Job } from '../processors/job.ts'
import type { ConsumerGroup } from '../processors/status.ts'
import { Convergence, type LateRange } from '../processors/reprocess/convergence.ts'
import { memoryJournal } from '../processors/reprocess/journal.ts'
import { DEFAULT_CONVERGENCE } from '../processors/reprocess/pending-ranges.ts'
import { lateReach, streamReach } from '../processors/reprocess/plan.ts'
import { sessionReachBack } from '../processors/reprocess/session-reach.ts'
import type { Stream } from '../schemas/avro/catalog.ts'
import { LIVE_REPROCESS_SETTINGS, runReprocess } from './commands/reprocess.ts'
import type { Runtime } from './runtime.ts'

/** How long a recomputation waits for the processors to have stored what was on the log when it became due. */
const CATCH_UP_TIMEOUT_MS = 10 * 60_000

/**
 * Automatic convergence for a process that runs the jobs: it consumes the late topic and
 * recomputes the windows late events reached (processors/reprocess/convergence.ts).
 */
export function startConvergence(runtime: Runtime, bus: Bus, jobs: readonly Job[], groups: readonly ConsumerGroup[], metrics: EddyMetrics): Convergence {
  const { config, logger } = runtime
  const streamOfJob = new Map(jobs.map((job) => [job.name, job.stream]))
  const convergence = new Convergence({
    settings: { ...DEFAULT_CONVERGENCE, quietMs: config.convergenceQuietMs },
    reachOf: (stream) => lateReach(stream, LIVE_REPROCESS_SETTINGS),
    consumer: bus.consumer({ groupId: `${config.topics.prefix}-convergence`, topics: [config.topics.late], startFrom: 'earliest' }),
    topic: config.topics.late,
    streamOf: (job) => (job === undefined ? undefined : streamOfJob.get(job)),
    oldestMs: () => Date.now() - config.retentionDays * 86_400_000 + 3_600_000,
    reprocess: async (range) => {
      await storedUpToNow(bus, range.stream, groups, config.topics[range.stream])
      const fromMs = range.stream === 'click' ? await clickReachBack(runtime, range) : range.fromMs
      return runReprocess(runtime, { stream: range.stream, fromMs, toMs: range.toMs }, { journal: memoryJournal() })
    },
    clock: Date.now,
    logger: logger.child({ component: 'convergence' }),
    onLateRecord: (stream) => {
      metrics.convergenceLateRecords.inc({ stream })
      metrics.convergencePending.set({ stream }, pendingOf(stream))
    },
    onRun: (run, lateToCorrectedMs) => {
      metrics.convergenceRuns.inc({ stream: run.stream, result: run.error === undefined ? 'ok' : 'failed' })
      if (run.error === undefined) metrics.convergenceLag.observe({ stream: run.stream }, lateToCorrectedMs / 1_000)
      metrics.convergencePending.set({ stream: run.stream }, pendingOf(run.stream))
    },
  })
  const pendingOf = (stream: Stream) => convergence.status().pending.filter((range) => range.stream === stream).length
  convergence.start()
  return convergence
}

/** A click range starts early enough to rewrite the sessions its late events joined. */
async function clickReachBack(runtime: Runtime, range: LateRange): Promise<number> {
  const reach = streamReach('click', LIVE_REPROCESS_SETTINGS)
  return sessionReachBack(await runtime.clickhouse(), runtime.config.clickhouse.database, range, {
    sessionGapMs: LIVE_REPROCESS_SETTINGS.click.sessionGapMs,
    boundMs: reach.followKeysMs,
    alignMs: reach.alignMs,
  })
}

/**
 * Waits until the stream's job has committed everything on its topic as of now. Late records
 * come from the same checkpoints as the raw rows of their events, but may be on the late topic
 * before those rows are in ClickHouse; committed offsets move only once a checkpoint's rows are.
 */
async function storedUpToNow(bus: Bus, stream: Stream, groups: readonly ConsumerGroup[], topic: string): Promise<void> {
  const group = groups.find((each) => each.topics.includes(topic))
  if (group === undefined) return
  const admin = bus.admin()
  const target = await admin.topicOffsets(topic)
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS
  for (;;) {
    const committed = await admin.committedOffsets(group.group, topic)
    if (target.every(({ partition, high }) => (committed.find((entry) => entry.partition === partition)?.offset ?? 0) >= high)) return
    if (Date.now() > deadline) throw new Error(`the ${stream} processors have not stored what was on their topic ${CATCH_UP_TIMEOUT_MS / 60_000} minutes ago`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
