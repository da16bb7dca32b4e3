import { BusError } from '../port.ts'
import type { ErrorCodec } from '../../thread/rpc.ts'

/** A BusError stays a BusError across the threads: ingest's 503 and the retry helper read its fields. */
export const BUS_ERRORS: ErrorCodec = {
  toWire(error) {
    if (error instanceof BusError) return { message: error.message, kind: 'bus', fields: { retriable: error.retriable, code: error.code } }
    return { message: error instanceof Error ? error.message : String(error) }
  },
  fromWire(error) {
    if (error.kind === 'bus' && error.fields) return new BusError(error.message, Boolean(error.fields.retriable), String(error.fields.code) as BusError['code'])
    return new Error(error.message)
  },
}
