import type { BusRecord } from '../../core/bus/port.ts'
import type { DeadLetter } from '../dead-letters.ts'
import type { AvroCodec, EventByStream } from '../../core/codec/avro-codec.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'

export type DecodeResult<S extends Stream> =
  | { kind: 'ok'; record: BusRecord; event: EventByStream[S] }
  | { kind: 'dlq'; record: BusRecord; reason: string }

/**
 * Decodes a batch. Writer schemas the codec has not seen are fetched once per batch; a record
 * that still cannot be decoded is a DLQ result with the reason, never an exception, so one
 * poison message cannot stop its partition. `fields`: decode only these (see AvroCodec.decode).
 */
export async function decodeRecords<S extends Stream>(codec: AvroCodec, stream: S, records: readonly BusRecord[], fields?: readonly string[]): Promise<DecodeResult<S>[]> {
  const results: DecodeResult<S>[] = new Array(records.length)
  const retry: number[] = []
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!
    const decoded = codec.decode(stream, record.value, fields)
    if (decoded.ok) results[index] = { kind: 'ok', record, event: decoded.value }
    else if (decoded.unknownSchema) retry.push(index)
    else results[index] = { kind: 'dlq', record, reason: decoded.reason }
  }
  if (retry.length > 0) {
    const unknownIds = new Set(retry.map((index) => records[index]!.value.readUInt32BE(1)))
    const unavailable = new Map<number, string>()
    for (const id of unknownIds) {
      try {
        await codec.loadSchema(id)
      } catch (error) {
        if ((error as Error).name !== 'UnknownSchemaError') throw error // registry down: retry the batch
        unavailable.set(id, (error as Error).message)
      }
    }
    for (const index of retry) {
      const record = records[index]!
      const decoded = codec.decode(stream, record.value, fields)
      results[index] = decoded.ok
        ? { kind: 'ok', record, event: decoded.value }
        : { kind: 'dlq', record, reason: unavailable.get(record.value.readUInt32BE(1)) ?? decoded.reason }
    }
  }
  return results
}

/** A slice of a batch, decoded: the events for the task, and what the stream's sinks and the DLQ get. */
export interface DecodedSlice<S extends Stream> {
  readonly results: readonly DecodeResult<S>[]
  readonly events: EventByStream[S][]
  /** Each event's datum in the reader schema, when raw rows are stored. */
  readonly datums: Buffer[]
  readonly dead: DeadLetter[]
}

export interface SliceDecoding {
  /** The only fields to decode (Job.reads), or all. */
  readonly fields?: readonly string[]
  /** Also take each event's Avro datum in the reader schema (a raw-table sink). */
  readonly datums: boolean
}

/**
 * Decodes a slice for the task. A record whose datum cannot be taken whole (a field the job skips
 * is corrupt) goes to the DLQ like one that does not decode: its raw row could not be stored.
 */
export async function decodeSlice<S extends Stream>(codec: AvroCodec, stream: S, records: readonly BusRecord[], decoding: SliceDecoding): Promise<DecodedSlice<S>> {
  const results = await decodeRecords(codec, stream, records, decoding.fields)
  const events: EventByStream[S][] = []
  const datums: Buffer[] = []
  const dead: DeadLetter[] = []
  for (const result of results) {
    if (result.kind !== 'ok') {
      dead.push(result)
      continue
    }
    if (decoding.datums) {
      const raw = codec.readerDatum(stream, result.record.value)
      if (!raw.ok) {
        dead.push({ record: result.record, reason: raw.reason })
        continue
      }
      datums.push(raw.datum)
    }
    events.push(result.event)
  }
  return { results, events, datums, dead }
}
