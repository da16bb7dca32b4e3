import type { AvroCodec, EventByStream } from '../../core/codec/avro-codec.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import type { DeadLetter } from '../dead-letters.ts'
import { mergeOutputs, type JobTask, type OutputRows } from '../job.ts'
import { LATE_OUTPUT } from '../topology/declaration.ts'
import type { DecodedSlice } from './decode.ts'
import { wholeLateEvents } from './late.ts'

export interface ProcessContext<S extends Stream> {
  readonly job: string
  readonly stream: S
  readonly codec: AvroCodec
  readonly task: JobTask<EventByStream[S]>
  /** The task was given only some fields of each event (Job.reads): late rows are decoded whole again. */
  readonly partialEvents: boolean
}

/** Runs the task over a decoded slice and adds its rows to the batch's; late rows carry whole events. */
export function processSlice<S extends Stream>(context: ProcessContext<S>, slice: DecodedSlice<S>, nowMs: number, rows: OutputRows, dead: DeadLetter[]): void {
  const produced = context.task.process(slice.events, nowMs)
  const late = produced[LATE_OUTPUT]
  if (context.partialEvents && late) produced[LATE_OUTPUT] = wholeLateEvents(context.job, context.codec, context.stream, late, slice.results, dead)
  mergeOutputs(rows, produced)
}
