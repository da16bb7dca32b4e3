import { partitionForKey } from '../../core/bus/embedded/murmur2.ts'
import type { Job, JobTask, OutputRows, Row } from '../job.ts'
import { rowKey, type ReprocessTable } from './tables.ts'

/** Events handed to a task at once: the batches live processing sees are of this order too. */
const BATCH = 500

/** The rows a replay computed, per table, one per table key (the last a task emitted). */
export type ReplayRows = Map<string, Map<string, Row>>

/**
 * Runs a job over a bounded, time-ordered stream of events the way the live pipeline does: each
 * event goes to the task of the partition its key hashes to (the log's partitioner), so every row
 * is the row that partition's task writes live, with the same source_partition. Fresh tasks, and
 * no processing time passing: nothing fires early, each window fires once, final, as event time
 * passes it or at `finish`.
 */
export class RangeReplay<In> {
  private readonly tasks = new Map<number, JobTask<In>>()
  private readonly batches = new Map<number, In[]>()
  private readonly tables: ReadonlyMap<string, ReprocessTable>
  readonly rows: ReplayRows = new Map()
  /** Events the job did not count (invalid, or refused by a state bound): reported, never silent. */
  notCounted = 0
  events = 0

  constructor(
    private readonly job: Job,
    tables: readonly ReprocessTable[],
    private readonly partitions: number,
    private readonly partitionKey: (event: In) => string,
    private readonly nowMs: number,
  ) {
    this.tables = new Map(tables.filter((table) => table.stream === job.stream).map((table) => [table.table, table]))
    for (const table of this.tables.keys()) this.rows.set(table, new Map())
  }

  add(event: In): void {
    this.events++
    const partition = partitionForKey(this.partitionKey(event), this.partitions)
    let batch = this.batches.get(partition)
    if (batch === undefined) this.batches.set(partition, (batch = []))
    batch.push(event)
    if (batch.length >= BATCH) this.flush(partition, batch)
  }

  /** Every window of every partition fires; the replay takes nothing after it. `between` runs between partitions (to yield). */
  async finish(between: () => Promise<void> | undefined = () => undefined): Promise<ReplayRows> {
    for (const [partition, batch] of this.batches) {
      if (batch.length > 0) this.flush(partition, batch)
      await between()
    }
    for (const task of this.tasks.values()) {
      this.collect(task.finish(this.nowMs))
      await between()
    }
    this.tasks.clear()
    return this.rows
  }

  private flush(partition: number, batch: In[]): void {
    let task = this.tasks.get(partition)
    if (task === undefined) this.tasks.set(partition, (task = this.job.createTask(partition) as JobTask<In>))
    this.collect(task.process(batch.splice(0), this.nowMs))
  }

  private collect(outputs: OutputRows): void {
    for (const [output, rows] of Object.entries(outputs)) {
      const table = this.tables.get(output)
      if (table !== undefined) {
        const byKey = this.rows.get(output)!
        for (const row of rows) byKey.set(rowKey(table, row), row)
      } else if (output === 'late') {
        this.notCounted += rows.length
      }
    }
  }
}
