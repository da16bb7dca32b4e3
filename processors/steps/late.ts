import type { AvroCodec } from '../../core/codec/avro-codec.ts'
import type { BusRecord } from '../../core/bus/port.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import type { DeadLetter } from '../dead-letters.ts'
import type { Row } from '../job.ts'
import type { DecodeResult } from './decode.ts'

/**
 * Late rows carry the event the job was given, which is partial when it reads only some fields;
 * the late topic gets the whole event, decoded again from its record (late events are few). One
 * that does not decode whole (a field the job skips is corrupt) goes to the DLQ with the reason.
 */
export function wholeLateEvents<S extends Stream>(job: string, codec: AvroCodec, stream: S, late: readonly Row[], results: readonly DecodeResult<S>[], dead: DeadLetter[]): Row[] {
  const records = new Map<unknown, BusRecord>()
  for (const result of results) if (result.kind === 'ok') records.set(result.event, result.record)
  const whole: Row[] = []
  for (const row of late) {
    const record = records.get(row.event)
    // A late row comes from process(), for an event of the slice it was given: anything else is a bug in the job.
    if (!record) throw new Error(`job "${job}" emitted a late row for an event it was not given in this slice`)
    const decoded = codec.decode(stream, record.value)
    if (decoded.ok) whole.push({ ...row, event: decoded.value })
    else dead.push({ record, reason: decoded.reason })
  }
  return whole
}
