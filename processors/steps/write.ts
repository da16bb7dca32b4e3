import type { EddyMetrics } from '../../core/metrics/index.ts'
import type { DeadLetter, DeadLetterQueue } from '../dead-letters.ts'
import type { BatchOutput, OutputWriter } from '../outputs.ts'
import type { PartitionTask } from '../partition-task.ts'
import { LATE_OUTPUT } from '../topology/declaration.ts'

/** Writes a partition may have outstanding before its next batch waits (see enqueueWrite). */
export const MAX_WRITES_IN_FLIGHT = 8

export interface WriteContext {
  readonly job: string
  readonly outputs: OutputWriter
  readonly deadLetters: DeadLetterQueue
  readonly metrics?: Pick<EddyMetrics, 'lateEvents' | 'dlqEvents'>
}

/**
 * Outputs are written in the background so the next batch is processed while ClickHouse inserts
 * the last one; at most MAX_WRITES_IN_FLIGHT are outstanding per partition, which is what still
 * pauses consumption when the store is slow or down. The partition's next checkpoint awaits them.
 */
export async function enqueueWrite(context: WriteContext, owned: PartitionTask<unknown>, output: BatchOutput, dead: readonly DeadLetter[], prompt = false): Promise<void> {
  const late = output.rows[LATE_OUTPUT]?.length ?? 0
  const write = Promise.all([context.outputs.write(output, { prompt }), context.deadLetters.send(dead)]).then(() => {
    // Counted once sent; a batch replayed after a failure is sent, and counted, again.
    if (late > 0) context.metrics?.lateEvents.inc({ job: context.job }, late)
    if (dead.length > 0) context.metrics?.dlqEvents.inc({ job: context.job }, dead.length)
  })
  write.catch(() => {}) // observed by the checkpoint that awaits it
  owned.writes.push(write)
  while (owned.writes.length > MAX_WRITES_IN_FLIGHT) await owned.writes.shift()
}
