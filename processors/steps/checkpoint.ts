import type { Consumer } from '../../core/bus/port.ts'
import type { EddyMetrics } from '../../core/metrics/index.ts'
import type { StateCheckpoints } from '../checkpoints/state-checkpoints.ts'
import type { PartitionTask } from '../partition-task.ts'

/**
 * Most of the processor thread that one job's whole parts may take. Those are written in full at
 * every checkpoint, so a partition waits, after writing them took `t`, at least
 * t × partitions / CHECKPOINT_SHARE before the next: the price is a longer replay after a crash,
 * never a lost or doubled row. The entries changed since the last checkpoint do not count: they
 * cost about the same per event however often checkpoints come, so waiting would only pile more
 * of them into one longer pause (at 2,000 clicks/s a partition that waited 80 × its pause wrote
 * ever more per checkpoint, until it reached the cap and committed a minute apart).
 */
const CHECKPOINT_SHARE = 0.05

/**
 * The longest a partition waits between checkpoints however big its state: what a crash replays,
 * and what stays uncommitted after a stream stops, is at most about a minute of records. Past
 * that size the snapshots take more than CHECKPOINT_SHARE (eddy_checkpoint_snapshot_seconds).
 */
const MAX_CHECKPOINT_PAUSE_MS = 60_000

/**
 * The longest a checkpoint should stall its partition writing the entries changed since the last
 * one. Their cost grows with the records processed in between, so once the records waiting would
 * take this long (at the last checkpoints' cost per record), the next checkpoint comes before the
 * interval: a busy partition checkpoints more often, in shorter pauses, rather than in longer
 * pauses at the same rate (at 2,000 clicks/s a clickstream partition changes ~8,000 entries a
 * second, 30–45 ms of a one-second checkpoint on this 2-core machine).
 */
const CHANGES_PAUSE_BUDGET_MS = 15
/** How much each checkpoint's own cost per record moves the estimate: a GC inside one does not throw it off. */
const COST_SMOOTHING = 0.3

/**
 * Checkpoints of one partition taken and not yet saved. A save waits for the outputs its snapshot
 * reflects (the sinks' flush, then the insert): with one at a time, checkpoints could come no
 * closer than that wait, and the changes piled up behind it. Each staged one is another layer a
 * read of the store looks through, so they are few.
 */
const MAX_SAVES_IN_FLIGHT = 4

export interface CheckpointContext {
  readonly job: string
  readonly topic: string
  readonly checkpoints: StateCheckpoints
  readonly consumer: () => Consumer
  readonly clock: () => number
  readonly intervalMs: number
  /** Partitions this member owns: their snapshots share the thread. */
  readonly partitions: () => number
  readonly metrics?: Pick<EddyMetrics, 'checkpointSnapshotDuration' | 'checkpointDuration' | 'checkpointBytes' | 'checkpointInterval'>
}

/**
 * Takes a checkpoint without stopping the partition: the state is snapshotted now, at a batch
 * boundary (the parts kept whole, and the state store entries changed since the last one),
 * together with the writes that carry its outputs; those writes, the save and the
 * commit then finish in the background while later batches are processed. The snapshot is what
 * the state was at `nextOffset`, and it is saved only after every output it reflects is durable,
 * which is the order a restore needs. Several may be saving at once, each after the one before. A
 * forced checkpoint (revocation) waits for all.
 */
export async function checkpoint(context: CheckpointContext, owned: PartitionTask<unknown>, force: boolean): Promise<void> {
  const now = context.clock()
  if (owned.nextOffset === owned.checkpointedOffset && !force) return
  if (!force && (!checkpointDue(context, owned, now) || owned.savesInFlight >= MAX_SAVES_IN_FLIGHT)) return
  if (owned.failure) throw owned.failure
  const offset = owned.nextOffset
  const snapshotStarted = context.clock()
  const entries = new Map<string, Uint8Array | null>()
  owned.task.changes(entries)
  const wholeStarted = context.clock()
  learnChangesCost(owned, offset, wholeStarted - snapshotStarted)
  const whole = owned.task.snapshot()
  const wholeMs = context.clock() - wholeStarted
  // Staged now, so later batches read what the task let go of; committed once its outputs are written.
  const staged = context.checkpoints.stage(context.job, context.topic, owned.partition, { nextOffset: offset, savedAt: now, whole, entries })
  const snapshotMs = context.clock() - snapshotStarted
  owned.checkpointPauseMs = Math.min(MAX_CHECKPOINT_PAUSE_MS, (wholeMs * context.partitions()) / CHECKPOINT_SHARE)
  context.metrics?.checkpointSnapshotDuration.observe({ job: context.job }, snapshotMs / 1_000)
  context.metrics?.checkpointBytes.observe({ job: context.job }, checkpointBytes(whole, entries))
  if (owned.uncheckpointedSince !== undefined) context.metrics?.checkpointInterval.observe({ job: context.job }, Math.max(0, now - owned.uncheckpointedSince) / 1_000)
  owned.uncheckpointedSince = undefined
  const writes = owned.writes.splice(0)
  const committed = owned.checkpointedOffset
  owned.checkpointedOffset = offset
  owned.lastCheckpointAt = now
  const previous = owned.saving
  const saving = (async () => {
    // Saves land in the order taken: a restore must never find this one without the one before.
    await previous
    if (owned.failure) throw owned.failure
    for (const write of writes) await write
    await staged.commit()
    context.metrics?.checkpointDuration.observe({ job: context.job }, (context.clock() - snapshotStarted) / 1_000)
    if (offset !== committed) await context.consumer().commit([{ topic: context.topic, partition: owned.partition, offset }])
  })()
  owned.savesInFlight++
  const settled: Promise<void> = saving.then(
    () => {},
    (error: unknown) => { owned.failure ??= error },
  ).finally(() => {
    owned.savesInFlight--
    if (owned.saving === settled) owned.saving = undefined
  })
  owned.saving = settled
  if (force) {
    await settled
    if (owned.failure) throw owned.failure
  }
}

/**
 * At the interval, or sooner once the changes piled up since the last checkpoint would take
 * CHANGES_PAUSE_BUDGET_MS to write; never sooner than its whole parts allow.
 */
function checkpointDue(context: CheckpointContext, owned: PartitionTask<unknown>, now: number): boolean {
  const since = now - owned.lastCheckpointAt
  if (since < owned.checkpointPauseMs) return false
  if (since >= context.intervalMs) return true
  // NaN before the first checkpoint of an assignment: nothing is known of the cost yet.
  return (owned.nextOffset - owned.checkpointedOffset) * owned.changesMsPerRecord >= CHANGES_PAUSE_BUDGET_MS
}

/** Folds what writing the changes of the records since the last checkpoint took into the cost per record. */
function learnChangesCost(owned: PartitionTask<unknown>, offset: number, changesMs: number): void {
  const records = offset - owned.checkpointedOffset
  if (!(records > 0)) return
  const perRecord = changesMs / records
  owned.changesMsPerRecord = owned.changesMsPerRecord === 0 ? perRecord : owned.changesMsPerRecord + COST_SMOOTHING * (perRecord - owned.changesMsPerRecord)
}

/** What a checkpoint writes: the parts kept whole and each changed entry, key and value (UTF-16 keys counted as one byte a unit). */
function checkpointBytes(whole: Uint8Array, entries: ReadonlyMap<string, Uint8Array | null>): number {
  let bytes = whole.byteLength
  for (const [key, value] of entries) bytes += key.length + (value?.byteLength ?? 0)
  return bytes
}
