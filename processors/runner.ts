import type { Batch, Bus, Consumer, TopicPartition } from '../core/bus/port.ts'
import type { AvroCodec, EventByStream } from '../core/codec/avro-codec.ts'
import type { Logger } from '../core/logging/logger.ts'
import type { EddyMetrics } from '../core/metrics/index.ts'
import { StateStoreCorruptError } from './state/store.ts'
import { ChangelogClaimedError } from './checkpoints/changelog/port.ts'
import type { Stream } from '../schemas/avro/catalog.ts'
import type { StateCheckpoints } from './checkpoints/state-checkpoints.ts'
import { DeadLetterQueue, type DeadLetter } from './dead-letters.ts'
import type { Job, OutputRows } from './job.ts'
import { noStreamOutput, type OutputWriter } from './outputs.ts'
import { PartitionTask } from './partition-task.ts'
import { checkpoint, type CheckpointContext } from './steps/checkpoint.ts'
import { decodeSlice } from './steps/decode.ts'
import { processSlice } from './steps/process.ts'
import { enqueueWrite, type WriteContext } from './steps/write.ts'

export interface JobRunnerOptions<S extends Stream> {
  readonly job: Job<S>
  /** The consumer group; one per job, shared by every instance running it. */
  readonly groupId: string
  readonly topic: string
  readonly dlqTopic: string
  readonly bus: Bus
  readonly codec: AvroCodec
  /** Writes to the job's bindings (bindings.ts): its outputs and its stream's sinks. */
  readonly outputs: OutputWriter
  /** Where each partition's state store and position are (state-checkpoints.ts). */
  readonly checkpoints: StateCheckpoints
  readonly logger: Logger
  readonly clock?: () => number
  /**
   * How often a partition's state is checkpointed and its offset committed, at the least
   * (EDDY_CHECKPOINT_INTERVAL_MS): a snapshot that takes long spaces the next ones out (CHECKPOINT_SHARE).
   */
  readonly checkpointIntervalMs: number
  /** How often processing time advances the tasks (early firings). */
  readonly tickIntervalMs?: number
  readonly maxBatchRecords?: number
  /** Counts rows sent to the late topic and records sent to the DLQ; absent in tests that do not look. */
  readonly metrics?: Pick<EddyMetrics, 'processedRecords' | 'lateEvents' | 'dlqEvents' | 'checkpointSnapshotDuration' | 'checkpointDuration' | 'checkpointBytes' | 'stateRestoreDuration' | 'partitionsHalted' | 'checkpointInterval'>
}

/** Records decoded and processed at a time within a consumer batch (see handle). */
const DECODE_SLICE = 1_000

export interface RunningJob {
  readonly name: string
  /**
   * Partitions this instance owns, with their tasks' stats and the offset of the next record to
   * process. That position runs ahead of the group's committed offset, which moves only at
   * checkpoints: the end of the partition minus the position is how far processing trails.
   */
  stats(): Array<{ partition: number; position: number; stats: Record<string, number> }>
  /** Partitions stopped because their state store is damaged, each with what to do about it. */
  halted(): Array<{ partition: number; reason: string }>
  stop(): Promise<void>
}

/**
 * Runs a job as one member of its consumer group, a partition task per owned partition, each
 * batch through the named steps: decode (DLQ) → process (late rows whole) → write → checkpoint →
 * commit. Outputs of a batch are durable before the checkpoint that follows them; state and
 * offset are checkpointed together every `checkpointIntervalMs` and only then committed, so after
 * a crash a partition resumes from its checkpoint and replays the batches after it, whose outputs
 * are deterministic and replace the rows they wrote before.
 */
export async function startJob<S extends Stream>(options: JobRunnerOptions<S>): Promise<RunningJob> {
  const { job, topic, bus, codec, outputs, checkpoints } = options
  const logger = options.logger.child({ job: job.name })
  const clock = options.clock ?? Date.now
  const tasks = new Map<number, PartitionTask<EventByStream[S]>>()
  /**
   * Partitions whose state store is damaged: retrying would fail the same way for ever, and
   * processing them from scratch would silently forget what their windows had counted. They stay
   * paused, uncommitted and reported (pipeline health, eddy_partitions_halted) until an operator
   * restores or moves the store away and restarts, as the error says.
   */
  const halted = new Map<number, string>()
  /** Partitions let go because another instance claimed their changelog, until the group says whose they are. */
  const lost = new Set<number>()
  let consumer: Consumer

  const halt = (partition: number, error: StateStoreCorruptError) => {
    logger.error({ err: error, partition }, `partition stopped: ${error.message}`)
    tasks.delete(partition)
    halted.set(partition, error.message)
    options.metrics?.partitionsHalted.set({ job: job.name }, halted.size)
    consumer.pause([{ topic, partition }])
  }

  const sinks = outputs.bindings.streamSinks
  const storesRawRows = sinks.some((sink) => sink.kind === 'raw-table')
  // Search indexing stores whole events, so a job whose stream is indexed decodes them whole.
  const indexesForSearch = sinks.some((sink) => sink.kind === 'search-index')
  const fields = indexesForSearch ? undefined : job.reads

  const writing: WriteContext = {
    job: job.name,
    outputs,
    deadLetters: new DeadLetterQueue(bus.producer(), options.dlqTopic, job.name),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  }
  const checkpointing: CheckpointContext = {
    job: job.name,
    topic,
    checkpoints,
    consumer: () => consumer,
    clock,
    intervalMs: options.checkpointIntervalMs,
    partitions: () => tasks.size,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  }

  /**
   * `reread`: the partition was processed here already (it is taken back, not newly assigned), so
   * without a checkpoint it must be read again from the group's committed offset, where the
   * consumer would have started it, rather than go on from where the consumer is.
   */
  const assign = async (partitions: readonly TopicPartition[], reread = false) => {
    for (const { partition } of partitions) {
      const restoreStarted = clock()
      const observeRestore = () => options.metrics?.stateRestoreDuration.observe({ job: job.name }, (clock() - restoreStarted) / 1_000)
      let opened
      try {
        opened = await checkpoints.open(job.name, topic, partition)
      } catch (error) {
        if (!(error instanceof StateStoreCorruptError)) throw error
        halt(partition, error)
        continue
      }
      const task = job.createTask(partition, opened.state)
      const saved = opened.checkpoint
      let start = 0
      if (saved) {
        const restored = task.restore(saved.whole)
        if (restored.ok) {
          start = saved.nextOffset
        } else {
          // A snapshot the job can no longer read (its windows changed): rebuild the state from
          // the committed offset on with empty windows, and say so.
          logger.error({ partition, reason: restored.reason }, 'checkpoint cannot be restored; continuing with empty state')
          await opened.state.clear()
          const fresh = job.createTask(partition, opened.state)
          tasks.set(partition, new PartitionTask(partition, fresh, saved.nextOffset, clock()))
          consumer.seek({ topic, partition, offset: saved.nextOffset })
          observeRestore()
          continue
        }
        consumer.seek({ topic, partition, offset: start })
      } else if (reread) {
        const admin = bus.admin()
        const committed = (await admin.committedOffsets(options.groupId, topic)).find((entry) => entry.partition === partition)?.offset
        start = committed ?? (await admin.topicOffsets(topic)).find((entry) => entry.partition === partition)?.low ?? 0
        consumer.seek({ topic, partition, offset: start })
      }
      tasks.set(partition, new PartitionTask(partition, task, start, clock()))
      observeRestore()
      logger.info({ partition, from: saved ? start : 'committed offset' }, 'partition assigned')
    }
  }

  const revoke = async (partitions: readonly TopicPartition[]) => {
    for (const { partition } of partitions) {
      if (halted.delete(partition)) options.metrics?.partitionsHalted.set({ job: job.name }, halted.size)
      lost.delete(partition)
      const owned = tasks.get(partition)
      if (!owned) continue
      try {
        await owned.run(() => checkpoint(checkpointing, owned, true))
      } catch (error) {
        // Its successor starts from the last checkpoint that did land; the task goes either way.
        logger.warn({ err: error, partition }, 'last checkpoint of a revoked partition failed')
      } finally {
        tasks.delete(partition)
      }
    }
  }

  /**
   * After a failure the task's state may be ahead of what was written; throwing it away and
   * restarting the partition from its checkpoint is what keeps a redelivered batch from being
   * counted twice.
   */
  const recover = async (owned: PartitionTask<EventByStream[S]>, error: unknown) => {
    // A checkpoint still being saved must land (or fail) before the restore reads the store.
    await owned.saving
    owned.writes.splice(0)
    if (error instanceof StateStoreCorruptError) return halt(owned.partition, error)
    if (error instanceof ChangelogClaimedError) {
      // Another instance has the partition now (kafkajs tells this one at its next rejoin):
      // taking it back would fence that one in turn. A batch of it before then restores it.
      logger.info({ partition: owned.partition }, 'partition claimed by another instance; letting it go')
      tasks.delete(owned.partition)
      lost.add(owned.partition)
      return
    }
    logger.warn({ err: error, partition: owned.partition }, 'partition failed; resuming from its checkpoint')
    tasks.delete(owned.partition)
    await assign([{ topic, partition: owned.partition }])
  }

  const handle = async (batch: Batch) => {
    // Fetched before the pause took effect: left uncommitted, for whoever repairs the store.
    if (halted.has(batch.partition)) return
    // Let go after another instance claimed it, and still this member's: the group gave it back.
    // Restored from its last checkpoint, it is read again from there (the seek), not from here.
    if (lost.delete(batch.partition)) return assign([{ topic, partition: batch.partition }], true)
    const owned = tasks.get(batch.partition)
    if (!owned) throw new Error(`batch for partition ${batch.partition}, which this member does not own`)
    await owned.run(async () => {
      try {
        if (owned.failure) throw owned.failure
        const rows: OutputRows = {}
        const datums: Buffer[] = []
        const events: EventByStream[S][] = []
        const dead: DeadLetter[] = []
        const now = clock()
        const processing = { job: job.name, stream: job.stream, codec, task: owned.task, partialEvents: fields !== undefined }
        // Decoded and processed a slice at a time: a slice's event objects are garbage before the
        // next is decoded, so a young-generation collection finds a slice alive, not the batch.
        // Copying a whole batch's events at every collection was the largest cost of the job
        // thread (5,000-record slices: ~116,000 events per CPU second; 1,000: ~145,000).
        for (let start = 0; start < batch.records.length; start += DECODE_SLICE) {
          const slice = await decodeSlice(codec, job.stream, batch.records.slice(start, start + DECODE_SLICE), { ...(fields ? { fields } : {}), datums: storesRawRows })
          for (const letter of slice.dead) dead.push(letter)
          for (const datum of slice.datums) datums.push(datum)
          processSlice(processing, slice, now, rows, dead)
          if (indexesForSearch) for (const event of slice.events) events.push(event)
        }
        owned.nextOffset = batch.records.at(-1)!.offset + 1
        owned.uncheckpointedSince ??= now
        options.metrics?.processedRecords.inc({ job: job.name }, batch.records.length)
        await enqueueWrite(writing, owned, { rows, datums, events }, dead)
        await checkpoint(checkpointing, owned, false)
      } catch (error) {
        await recover(owned, error)
        if (!halted.has(owned.partition)) throw error
      }
    })
  }

  consumer = bus.consumer({
    groupId: options.groupId,
    topics: [topic],
    maxBatchRecords: options.maxBatchRecords ?? 5_000,
    rebalance: { onAssigned: assign, onRevoked: revoke },
  })

  const tick = setInterval(() => {
    for (const owned of tasks.values()) {
      void owned.run(async () => {
        try {
          if (owned.failure) throw owned.failure
          // Early firings are what live views wait for: they go out now, not after the sink's
          // flush interval. A tick is at most once a second per partition, so inserts stay few.
          await enqueueWrite(writing, owned, noStreamOutput(owned.task.onProcessingTime(clock())), [], true)
          await checkpoint(checkpointing, owned, false)
        } catch (error) {
          await recover(owned, error)
          if (!halted.has(owned.partition) && !lost.has(owned.partition)) throw error
        }
      }).catch((error: unknown) => logger.warn({ err: error, partition: owned.partition }, 'processing-time tick failed'))
    }
  }, options.tickIntervalMs ?? 1_000)
  tick.unref()

  await consumer.run(handle)

  return {
    name: job.name,
    stats: () => [...tasks.values()].map((owned) => ({ partition: owned.partition, position: owned.nextOffset, stats: owned.task.stats() })),
    halted: () => [...halted].map(([partition, reason]) => ({ partition, reason })),
    async stop() {
      clearInterval(tick)
      // The consumer's revoke callback checkpoints and commits every partition on the way out.
      await consumer.stop()
    },
  }
}
