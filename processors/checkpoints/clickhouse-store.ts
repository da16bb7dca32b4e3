import type { ClickHouseClient } from '@clickhouse/client'
import type { Checkpoint, CheckpointStore } from './port.ts'

/**
 * Checkpoints in ClickHouse (distributed mode): every processor instance reaches the same store,
 * so a partition that moves to another instance resumes from the state its previous owner saved.
 * A ReplacingMergeTree keeps the newest row per (job, topic, partition); reads use FINAL.
 * State is stored as base64 text, which keeps JSONEachRow inserts valid for any bytes.
 * Chosen over Redis because ClickHouse is already required and durable, and checkpoints are
 * written once per committed batch, a rate it handles easily.
 */
export class ClickHouseCheckpointStore implements CheckpointStore {
  constructor(private readonly client: ClickHouseClient, private readonly database: string) {}

  async load(job: string, topic: string, partition: number): Promise<Checkpoint | undefined> {
    const result = await this.client.query({
      query: `SELECT next_offset, state, toUnixTimestamp64Milli(saved_at) AS saved_at
              FROM ${this.database}.processor_checkpoints FINAL
              WHERE job = {job:String} AND topic = {topic:String} AND partition = {partition:UInt32}`,
      query_params: { job, topic, partition },
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{ next_offset: string | number; state: string; saved_at: string | number }>()
    if (!row) return undefined
    return { job, topic, partition, nextOffset: Number(row.next_offset), state: new Uint8Array(Buffer.from(row.state, 'base64')), savedAt: Number(row.saved_at) }
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    await this.client.insert({
      table: `${this.database}.processor_checkpoints`,
      values: [{
        job: checkpoint.job,
        topic: checkpoint.topic,
        partition: checkpoint.partition,
        next_offset: checkpoint.nextOffset,
        state: Buffer.from(checkpoint.state).toString('base64'),
        saved_at: checkpoint.savedAt,
      }],
      format: 'JSONEachRow',
    })
  }
}
