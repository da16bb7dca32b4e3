import type avro from 'avsc'
import type { Producer } from '../core/bus/port.ts'
import type { AvroCodec, EventByStream } from '../core/codec/avro-codec.ts'
import type { Stream } from '../schemas/avro/catalog.ts'
import type { OutputRows, Row } from './job.ts'
import type { BulkIndexer } from '../core/search/elasticsearch/indexer.ts'
import type { SearchStream } from '../core/search/port.ts'
import type { ClickHouseBatchWriter, WriteOptions } from './sinks/clickhouse-batch-writer.ts'

/** Where a named output goes; chosen at start-up, so jobs never know tables or topics. */
export type OutputBinding =
  /** Rows, written as Avro records of the table's row type (core/clickhouse/avro-row-type.ts). */
  | { readonly kind: 'table'; readonly table: string; readonly rowType: avro.Type }
  /** Avro datums in the stream's reader schema (raw events), inserted as containers. */
  | { readonly kind: 'avro-table'; readonly table: string; readonly stream: Stream }
  /** Late events: re-encoded onto a topic with why and how late in headers. */
  | { readonly kind: 'late-topic'; readonly topic: string; readonly stream: Stream }
  /** Events indexed for search; those Elasticsearch refuses go to the DLQ topic with the reason. */
  | { readonly kind: 'search-index'; readonly stream: SearchStream; readonly dlqTopic: string }

export interface LateRow {
  readonly event: EventByStream[Stream]
  readonly reason: string
  readonly latenessMs: number
  readonly job: string
}

/**
 * Writes a task's rows to their bound outputs and resolves only when all are durable, which is
 * what lets the runner checkpoint and commit after it. An output without a binding is a wiring
 * bug and fails loudly rather than dropping rows.
 */
export class OutputWriter {
  constructor(
    private readonly bindings: Readonly<Record<string, OutputBinding>>,
    private readonly tables: ClickHouseBatchWriter,
    private readonly producer: Producer,
    private readonly codec: AvroCodec,
    private readonly search?: BulkIndexer,
  ) {}

  /** `options.prompt`: rows someone is waiting to see; tables insert them without the flush interval. */
  async write(rows: OutputRows, options: WriteOptions = {}): Promise<void> {
    const writes: Promise<unknown>[] = []
    for (const [name, list] of Object.entries(rows)) {
      if (list.length === 0) continue
      const binding = this.bindings[name]
      if (!binding) throw new Error(`output "${name}" has no binding`)
      if (binding.kind === 'table') writes.push(this.tables.writeRows(binding.table, binding.rowType, list, options))
      else if (binding.kind === 'avro-table') writes.push(this.tables.writeAvro(binding.table, this.codec.readerSchema(binding.stream), list as unknown as Buffer[], options))
      else if (binding.kind === 'search-index') writes.push(this.index(binding, list))
      else writes.push(this.producer.send(binding.topic, list.map((row) => this.lateRecord(binding.stream, row))))
    }
    await Promise.all(writes)
  }

  private async index(binding: Extract<OutputBinding, { kind: 'search-index' }>, rows: Row[]): Promise<void> {
    if (!this.search) throw new Error('events are bound to search indexing, but there is no indexer')
    const events = rows as unknown as Array<EventByStream[SearchStream]>
    const rejections = await this.search.index(binding.stream, events)
    if (rejections.length === 0) return
    await this.producer.send(binding.dlqTopic, rejections.map(({ event, reason }) => ({
      key: event.event_id,
      value: this.codec.encode(binding.stream, event as never),
      timestamp: event.ts,
      headers: { 'eddy.dlq.reason': `elasticsearch: ${reason}`.slice(0, 1_000), 'eddy.dlq.job': 'search-index' },
    })))
  }

  private lateRecord(stream: Stream, row: Row) {
    const late = row as unknown as LateRow
    return {
      key: null,
      value: this.codec.encode(stream, late.event as never),
      timestamp: late.event.ts,
      headers: { 'eddy.late.reason': late.reason, 'eddy.late.lateness-ms': String(late.latenessMs), 'eddy.late.job': late.job },
    }
  }
}
