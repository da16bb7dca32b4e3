/**
 * Where a job keeps the window state of each input partition, together with the offset it
 * reflects. The checkpoint is the source of truth on restore: a partition resumes from the
 * checkpoint's `nextOffset` with its state, so state and position can never disagree.
 */
export interface Checkpoint {
  readonly job: string
  readonly topic: string
  readonly partition: number
  /** The first offset not yet reflected in `state`. */
  readonly nextOffset: number
  readonly state: Uint8Array
  readonly savedAt: number
}

export interface CheckpointStore {
  load(job: string, topic: string, partition: number): Promise<Checkpoint | undefined>
  save(checkpoint: Checkpoint): Promise<void>
}
