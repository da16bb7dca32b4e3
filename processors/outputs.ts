import { partitionKeyOf } from '../core/bus/partition-key.ts'
import type { Producer } from '../core/bus/port.ts'
import type { AvroCodec, EventByStream } from '../core/codec/avro-codec.ts'
import type { BulkIndexer } from '../core/search/elasticsearch/indexer.ts'
import type { Stream } from '../schemas/avro/catalog.ts'
import type { JobBindings, OutputBinding, StreamSink } from './bindings.ts'
import type { OutputRows, Row } from './job.ts'
import type { ClickHouseBatchWriter, WriteOptions } from './sinks/clickhouse-batch-writer.ts'

export interface LateRow {
  readonly event: EventByStream[Stream]
  readonly reason: string
  readonly latenessMs: number
  readonly job: string
}

/** What one batch (or tick) of a partition sends on: the task's rows, and what its stream's sinks get. */
export interface BatchOutput {
  readonly rows: OutputRows
  /** Each decoded event's Avro datum in the reader schema, for a 'raw-table' sink. */
  readonly datums: readonly Buffer[]
  /** The decoded events, whole, for a 'search-index' sink. */
  readonly events: readonly EventByStream[Stream][]
}

export const noStreamOutput = (rows: OutputRows): BatchOutput => ({ rows, datums: [], events: [] })

/**
 * Writes a batch's rows and events to their bindings and resolves only when all are durable,
 * which is what lets the runner checkpoint and commit after it. An output without a binding is
 * a wiring bug and fails loudly rather than dropping rows.
 */
export class OutputWriter {
  constructor(
    readonly bindings: JobBindings,
    private readonly tables: ClickHouseBatchWriter,
    private readonly producer: Producer,
    private readonly codec: AvroCodec,
    private readonly search?: BulkIndexer,
  ) {}

  /** `options.prompt`: rows someone is waiting to see; tables insert them without the flush interval. */
  async write(output: BatchOutput, options: WriteOptions = {}): Promise<void> {
    const writes: Promise<unknown>[] = []
    for (const [name, rows] of Object.entries(output.rows)) {
      if (rows.length === 0) continue
      const binding = this.bindings.outputs[name]
      if (!binding) throw new Error(`output "${name}" has no binding`)
      writes.push(this.writeRows(binding, rows, options))
    }
    for (const sink of this.bindings.streamSinks) writes.push(this.writeStream(sink, output, options))
    await Promise.all(writes)
  }

  private writeRows(binding: OutputBinding, rows: Row[], options: WriteOptions): Promise<unknown> {
    if (binding.kind === 'table') return this.tables.writeRows(binding.table, binding.rowType, rows, options)
    return this.producer.send(binding.topic, rows.map((row) => this.lateRecord(binding.stream, lateRow(row))))
  }

  private async writeStream(sink: StreamSink, output: BatchOutput, options: WriteOptions): Promise<void> {
    if (sink.kind === 'raw-table') {
      if (output.datums.length > 0) await this.tables.writeAvro(sink.table, this.codec.readerSchema(sink.stream), output.datums, options)
      return
    }
    if (output.events.length > 0) await this.index(sink, output.events)
  }

  private async index(sink: Extract<StreamSink, { kind: 'search-index' }>, events: readonly EventByStream[Stream][]): Promise<void> {
    if (!this.search) throw new Error('events are bound to search indexing, but there is no indexer')
    const rejections = await this.search.index(sink.stream, events)
    if (rejections.length === 0) return
    await this.producer.send(sink.dlqTopic, rejections.map(({ event, reason }) => ({
      key: event.event_id,
      value: this.codec.encode(sink.stream, event as EventByStream[typeof sink.stream]),
      timestamp: event.ts,
      headers: { 'eddy.dlq.reason': `elasticsearch: ${reason}`.slice(0, 1_000), 'eddy.dlq.job': 'search-index' },
    })))
  }

  private lateRecord(stream: Stream, late: LateRow) {
    return {
      // The event's own partition key: automatic convergence learns whose sessions a late event touched.
      key: partitionKeyOf(stream, late.event),
      value: this.codec.encode(stream, late.event),
      timestamp: late.event.ts,
      headers: { 'eddy.late.reason': late.reason, 'eddy.late.lateness-ms': String(late.latenessMs), 'eddy.late.job': late.job },
    }
  }
}

/** A late row as the jobs emit it (operators/emissions.ts); checked, since a row is only a record. */
export function lateRow(row: Row): LateRow {
  const { event, reason, latenessMs, job } = row
  if (typeof event !== 'object' || event === null || typeof reason !== 'string' || typeof latenessMs !== 'number' || typeof job !== 'string') {
    throw new Error(`a late row needs event, reason, latenessMs and job; got ${Object.keys(row).join(', ')}`)
  }
  return { event: event as EventByStream[Stream], reason, latenessMs, job }
}
