import type { JobTask } from './job.ts'

/** One partition this member owns: its task, where it is, and its checkpoint's progress. */
export class PartitionTask<In> {
  /** Work on one partition runs strictly in order: batches, ticks, checkpoints. */
  private chain: Promise<void> = Promise.resolve()
  /** Output writes not yet acknowledged, oldest first; a checkpoint takes them over. */
  readonly writes: Promise<void>[] = []
  nextOffset: number
  /** The offset of the newest checkpoint taken (saved or being saved). */
  checkpointedOffset: number
  lastCheckpointAt: number
  /** When the first batch after the last checkpoint was processed: what a crash now would replay began then. */
  uncheckpointedSince: number | undefined
  /** The wait after the last checkpoint before the next: the interval, or longer after a slow snapshot. */
  checkpointPauseMs = 0
  /** What writing the changed entries cost per record processed, smoothed over checkpoints (ms): the checkpoint step's estimate. */
  changesMsPerRecord = 0
  /** The newest checkpoint waiting for its writes and being saved (after every one before it); settles, never rejects. */
  saving?: Promise<void>
  /** Checkpoints taken and not yet saved. */
  savesInFlight = 0
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
