import { ClickHouseError } from '@clickhouse/client'
import { clickHouseErrorCode } from '../error-code.ts'
import type { ErrorCodec, WireError } from '../../thread/rpc.ts'

/**
 * A ClickHouseError stays one across the threads, with its code and type (the api tells a bad
 * query from an outage by them), and a system error keeps its code (ECONNREFUSED and the like).
 */
export const CLICKHOUSE_ERRORS: ErrorCodec = {
  toWire(error): WireError {
    // By shape: chDB raises its own copy of the class.
    const clickhouse = clickHouseErrorCode(error)
    if (clickhouse !== undefined) return { message: (error as Error).message, kind: 'clickhouse', fields: { code: clickhouse, type: (error as { type: string }).type } }
    if (error instanceof Error) {
      const code = (error as NodeJS.ErrnoException).code
      return typeof code === 'string' ? { message: error.message, kind: 'system', fields: { code } } : { message: error.message }
    }
    return { message: String(error) }
  },
  fromWire(error) {
    if (error.kind === 'clickhouse') return new ClickHouseError({ message: error.message, code: String(error.fields?.code ?? ''), type: String(error.fields?.type ?? '') })
    if (error.kind === 'system') return Object.assign(new Error(error.message), { code: error.fields?.code })
    return new Error(error.message)
  },
}
