import type { Batch, Bus, BusRecord, Consumer, TopicPartition } from '../core/bus/port.ts'
import type { AvroCodec, EventByStream } from '../core/codec/avro-codec.ts'
import type { Logger } from '../core/logging/logger.ts'
import type { EddyMetrics } from '../core/metrics/index.ts'
import type { Stream } from '../schemas/avro/catalog.ts'
import type { CheckpointStore } from './checkpoints/port.ts'
import { DeadLetterQueue } from './dead-letters.ts'
import { mergeOutputs, type Job, type JobTask, type OutputRows, type Row } from './job.ts'
import type { OutputWriter } from './outputs.ts'
import { RAW_OUTPUT, SEARCH_OUTPUT } from './sinks/raw-rows.ts'
import { decodeRecords, type DecodeResult } from './steps/decode.ts'

export interface JobRunnerOptions<S extends Stream> {
  readonly job: Job<S>
  /** The consumer group; one per job, shared by every instance running it. */
  readonly groupId: string
  readonly topic: string
  readonly dlqTopic: string
  readonly bus: Bus
  readonly codec: AvroCodec
  readonly outputs: OutputWriter
  readonly checkpoints: CheckpointStore
  readonly logger: Logger
  readonly clock?: () => number
  /**
   * How often a partition's state is checkpointed and its offset committed, at the least: a
   * snapshot that takes long spaces the next ones out (CHECKPOINT_SHARE).
   */
  readonly checkpointIntervalMs?: number
  /** How often processing time advances the tasks (early firings). */
  readonly tickIntervalMs?: number
  readonly maxBatchRecords?: number
  /**
   * Also store every decoded event of the topic as a raw row, on the output RAW_OUTPUT (as Avro
   * datums in the reader schema, bound to an 'avro-table'). One job
   * per stream does it, so each event is read and decoded once for both its raw row and its
   * aggregates, and the raw rows share the job's checkpoint: nothing is committed before both
   * are durable.
   */
  readonly storeRawRows?: boolean
  /**
   * Also hand every decoded event to search indexing, on the output SEARCH_OUTPUT (with
   * ELASTICSEARCH_URL). Like raw rows: one job per stream, the same checkpoint.
   */
  readonly indexForSearch?: boolean
  /** Counts rows sent to the late topic and records sent to the DLQ; absent in tests that do not look. */
  readonly metrics?: Pick<EddyMetrics, 'lateEvents' | 'dlqEvents' | 'checkpointSnapshotDuration'>
}

/**
 * Most of the processor thread that one job's snapshots may take. A snapshot writes every open
 * window and session of the partition; with many of them (sessions stay open for their 30-minute
 * gap) a checkpoint every second would spend more time writing state than processing events. So a
 * partition waits, after a snapshot that took `t`, at least t × partitions / CHECKPOINT_SHARE
 * before the next: the price is a longer replay after a crash, never a lost or doubled row.
 */
const CHECKPOINT_SHARE = 0.05

/**
 * The longest a partition waits between checkpoints however big its state: what a crash replays,
 * and what stays uncommitted after a stream stops, is at most about a minute of records. Past
 * that size the snapshots take more than CHECKPOINT_SHARE (eddy_checkpoint_snapshot_seconds).
 */
const MAX_CHECKPOINT_PAUSE_MS = 60_000

/** The output every job binds to the late topic (processors/operators/emissions.ts emits to it). */
const LATE_OUTPUT = 'late'
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
  stop(): Promise<void>
}

class PartitionTask<In> {
  /** Work on one partition runs strictly in order: batches, ticks, checkpoints. */
  private chain: Promise<void> = Promise.resolve()
  /** Output writes not yet acknowledged, oldest first; a checkpoint takes them over. */
  readonly writes: Promise<void>[] = []
  nextOffset: number
  /** The offset of the newest checkpoint taken (saved or being saved). */
  checkpointedOffset: number
  lastCheckpointAt: number
  /** The wait after the last checkpoint before the next: the interval, or longer after a slow snapshot. */
  checkpointPauseMs = 0
  /** A checkpoint waiting for its writes and being saved; at most one at a time. */
  saving?: Promise<void>
  /** Why a background checkpoint failed; the partition recovers before its next batch. */
  failure?: unknown

  constructor(readonly partition: number, readonly task: JobTask<In>, startOffset: number, now: number) {
    this.nextOffset = startOffset
    // Unknown on purpose: a process killed between saving a checkpoint and committing its offset
    // restarts from the checkpoint with the group's commit behind it. The first checkpoint after
    // an assignment therefore always commits, even if no record arrives for the partition again,
    // or its lag would never reach zero.
    this.checkpointedOffset = Number.NaN
    this.lastCheckpointAt = now
  }

  run(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work)
    this.chain = next.catch(() => {})
    return next
  }
}

/**
 * Runs a job as one member of its consumer group: consume → decode (DLQ) → task → outputs →
 * checkpoint → commit. Outputs of a batch are durable before the next batch of that partition
 * starts; state and offset are checkpointed together every `checkpointIntervalMs` and only then
 * committed, so after a crash a partition resumes from its checkpoint and replays the batches
 * after it, whose outputs are deterministic and replace the rows they wrote before.
 */
export async function startJob<S extends Stream>(options: JobRunnerOptions<S>): Promise<RunningJob> {
  const { job, topic, bus, codec, outputs, checkpoints } = options
  const logger = options.logger.child({ job: job.name })
  const clock = options.clock ?? Date.now
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 1_000
  const deadLetters = new DeadLetterQueue(bus.producer(), options.dlqTopic, job.name)
  const tasks = new Map<number, PartitionTask<EventByStream[S]>>()
  for (const reserved of [RAW_OUTPUT, SEARCH_OUTPUT]) {
    if (job.outputs.includes(reserved)) throw new Error(`job "${job.name}" has an output named "${reserved}", which is reserved for the runner`)
  }
  let consumer: Consumer

  const maxWritesInFlight = 8

  /**
   * Outputs are written in the background so the next batch is processed while ClickHouse
   * inserts the last one; at most `maxWritesInFlight` are outstanding per partition, which is
   * what still pauses consumption when the store is slow or down.
   */
  const enqueueWrite = async (owned: PartitionTask<EventByStream[S]>, rows: OutputRows, dead: Parameters<DeadLetterQueue['send']>[0], prompt = false) => {
    const late = rows[LATE_OUTPUT]?.length ?? 0
    const write = Promise.all([outputs.write(rows, { prompt }), deadLetters.send(dead)]).then(() => {
      // Counted once sent; a batch replayed after a failure is sent, and counted, again.
      if (late > 0) options.metrics?.lateEvents.inc({ job: job.name }, late)
      if (dead.length > 0) options.metrics?.dlqEvents.inc({ job: job.name }, dead.length)
    })
    write.catch(() => {}) // observed by the checkpoint that awaits it
    owned.writes.push(write)
    while (owned.writes.length > maxWritesInFlight) await owned.writes.shift()
  }

  /**
   * Takes a checkpoint without stopping the partition: the state is snapshotted now, at a batch
   * boundary, together with the writes that carry its outputs; those writes, the save and the
   * commit then finish in the background while later batches are processed. The snapshot is what
   * the state was at `nextOffset`, and it is saved only after every output it reflects is
   * durable, which is the order a restore needs. A forced checkpoint (revocation) waits for all.
   */
  const checkpoint = async (owned: PartitionTask<EventByStream[S]>, force: boolean) => {
    const now = clock()
    if (owned.nextOffset === owned.checkpointedOffset && !force) return
    if (!force && (now - owned.lastCheckpointAt < Math.max(checkpointIntervalMs, owned.checkpointPauseMs) || owned.saving)) return
    if (owned.saving) await owned.saving
    if (owned.failure) throw owned.failure
    const offset = owned.nextOffset
    const snapshotStarted = clock()
    const state = owned.task.snapshot()
    const snapshotMs = clock() - snapshotStarted
    owned.checkpointPauseMs = Math.min(MAX_CHECKPOINT_PAUSE_MS, (snapshotMs * tasks.size) / CHECKPOINT_SHARE)
    options.metrics?.checkpointSnapshotDuration.observe({ job: job.name }, snapshotMs / 1_000)
    const writes = owned.writes.splice(0)
    const committed = owned.checkpointedOffset
    owned.checkpointedOffset = offset
    owned.lastCheckpointAt = now
    const saving = (async () => {
      for (const write of writes) await write
      await checkpoints.save({ job: job.name, topic, partition: owned.partition, nextOffset: offset, state, savedAt: now })
      if (offset !== committed) await consumer.commit([{ topic, partition: owned.partition, offset }])
    })()
    owned.saving = saving.then(
      () => { owned.saving = undefined },
      (error: unknown) => {
        owned.saving = undefined
        owned.failure = error
      },
    )
    if (force) {
      await owned.saving
      if (owned.failure) throw owned.failure
    }
  }

  const assign = async (partitions: readonly TopicPartition[]) => {
    for (const { partition } of partitions) {
      const task = job.createTask(partition)
      const saved = await checkpoints.load(job.name, topic, partition)
      let start = 0
      if (saved) {
        const restored = task.restore(saved.state)
        if (restored.ok) {
          start = saved.nextOffset
        } else {
          // A snapshot the job can no longer read (its windows changed): rebuild the state from
          // the committed offset on with empty windows, and say so.
          logger.error({ partition, reason: restored.reason }, 'checkpoint cannot be restored; continuing with empty state')
          const fresh = job.createTask(partition)
          tasks.set(partition, new PartitionTask(partition, fresh, saved.nextOffset, clock()))
          consumer.seek({ topic, partition, offset: saved.nextOffset })
          continue
        }
        consumer.seek({ topic, partition, offset: start })
      }
      tasks.set(partition, new PartitionTask(partition, task, start, clock()))
      logger.info({ partition, from: saved ? start : 'committed offset' }, 'partition assigned')
    }
  }

  const revoke = async (partitions: readonly TopicPartition[]) => {
    for (const { partition } of partitions) {
      const owned = tasks.get(partition)
      if (!owned) continue
      await owned.run(() => checkpoint(owned, true))
      tasks.delete(partition)
    }
  }

  /**
   * After a failure the task's state may be ahead of what was written; throwing it away and
   * restarting the partition from its checkpoint is what keeps a redelivered batch from being
   * counted twice.
   */
  const recover = async (owned: PartitionTask<EventByStream[S]>, error: unknown) => {
    logger.warn({ err: error, partition: owned.partition }, 'partition failed; resuming from its checkpoint')
    // A checkpoint still being saved must land (or fail) before the restore reads the store.
    await owned.saving
    owned.writes.splice(0)
    tasks.delete(owned.partition)
    await assign([{ topic, partition: owned.partition }])
  }

  type DeadLetters = Extract<DecodeResult<S>, { kind: 'dlq' }>[]

  // Search indexing stores whole events, so a job that indexes decodes them whole.
  const fields = options.indexForSearch ? undefined : job.reads

  /**
   * Late rows carry the event the job was given, which is partial when it reads only some fields;
   * the late topic gets the whole event, decoded again from its record (late events are few).
   */
  const wholeLateEvents = (late: Row[], results: readonly DecodeResult<S>[], dead: DeadLetters) => {
    const records = new Map<unknown, BusRecord>()
    for (const result of results) if (result.kind === 'ok') records.set(result.event, result.record)
    return late.filter((row) => {
      const record = records.get(row.event)
      // A late row comes from process(), for an event of the slice it was given: anything else is a bug in the job.
      if (!record) throw new Error(`job "${job.name}" emitted a late row for an event it was not given in this slice`)
      const decoded = codec.decode(job.stream, record.value)
      if (decoded.ok) row.event = decoded.value
      // Whole, it does not decode (a field the job skips is corrupt): the DLQ has it with the reason.
      else dead.push({ kind: 'dlq', record, reason: decoded.reason })
      return decoded.ok
    })
  }

  const handle = async (batch: Batch) => {
    const owned = tasks.get(batch.partition)
    if (!owned) throw new Error(`batch for partition ${batch.partition}, which this member does not own`)
    await owned.run(async () => {
      try {
        if (owned.failure) throw owned.failure
        const rows: OutputRows = {}
        const datums: Buffer[] = []
        const indexed: EventByStream[S][] = []
        const dead: DeadLetters = []
        const now = clock()
        // Decoded and processed a slice at a time: a slice's event objects are garbage before the
        // next is decoded, so a young-generation collection finds a slice alive, not the batch.
        // Copying a whole batch's events at every collection was the largest cost of the job
        // thread (5,000-record slices: ~116,000 events per CPU second; 1,000: ~145,000).
        for (let start = 0; start < batch.records.length; start += DECODE_SLICE) {
          const results = await decodeRecords(codec, job.stream, batch.records.slice(start, start + DECODE_SLICE), fields)
          const events: EventByStream[S][] = []
          for (const result of results) {
            if (result.kind !== 'ok') {
              dead.push(result)
              continue
            }
            if (options.storeRawRows) {
              const raw = codec.readerDatum(job.stream, result.record.value)
              if (!raw.ok) {
                dead.push({ kind: 'dlq', record: result.record, reason: raw.reason })
                continue
              }
              datums.push(raw.datum)
            }
            events.push(result.event)
          }
          const produced = owned.task.process(events, now)
          if (fields !== undefined && produced[LATE_OUTPUT]) produced[LATE_OUTPUT] = wholeLateEvents(produced[LATE_OUTPUT], results, dead)
          mergeOutputs(rows, produced)
          if (options.indexForSearch) for (const event of events) indexed.push(event)
        }
        if (datums.length > 0) rows[RAW_OUTPUT] = datums as unknown as Row[]
        if (indexed.length > 0) rows[SEARCH_OUTPUT] = indexed as unknown as Row[]
        owned.nextOffset = batch.records.at(-1)!.offset + 1
        await enqueueWrite(owned, rows, dead)
        await checkpoint(owned, false)
      } catch (error) {
        await recover(owned, error)
        throw error
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
          await enqueueWrite(owned, owned.task.onProcessingTime(clock()), [], true)
          await checkpoint(owned, false)
        } catch (error) {
          await recover(owned, error)
          throw error
        }
      }).catch((error: unknown) => logger.warn({ err: error, partition: owned.partition }, 'processing-time tick failed'))
    }
  }, options.tickIntervalMs ?? 1_000)
  tick.unref()

  await consumer.run(handle)

  return {
    name: job.name,
    stats: () => [...tasks.values()].map((owned) => ({ partition: owned.partition, position: owned.nextOffset, stats: owned.task.stats() })),
    async stop() {
      clearInterval(tick)
      // The consumer's revoke callback checkpoints and commits every partition on the way out.
      await consumer.stop()
    },
  }
}
