import { Readable } from 'node:stream'
import type { MessagePort } from 'node:worker_threads'
import type { Connection, ConnBaseResult, ConnExecResult, ConnInsertResult, ConnPingResult, ConnQueryResult } from 'chdb/connection'
import { Calls, type Reply } from '../../thread/rpc.ts'
import { ownedBytes } from './bytes.ts'
import { CLICKHOUSE_ERRORS } from './errors.ts'
import type { Operation, WireParams, WireResult } from './protocol.ts'

/**
 * A @clickhouse/client Connection to a ClickHouse owned by another thread (serve.ts): give it to
 * `createClient({ connection })` and every query, command, insert and exec runs there, with the
 * client's own parsing, streaming and errors here. Closing it leaves the owner's connection open.
 */
export function threadConnection(port: MessagePort): Connection<Readable> {
  const calls = new Calls(port, CLICKHOUSE_ERRORS)
  port.on('message', (message: Reply) => {
    if (message.kind === 'reply') calls.settle(message)
  })
  port.on('close', () => calls.failAll(new Error('the thread that owns ClickHouse is gone')))

  const call = async (operation: Operation, params: Record<string, unknown>): Promise<WireResult> => {
    const { abort_signal: signal, values, ...rest } = params as { abort_signal?: AbortSignal; values?: unknown }
    signal?.throwIfAborted()
    const body = values === undefined ? undefined : typeof values === 'string' ? values : await ownedBytes(values as AsyncIterable<Buffer>)
    signal?.throwIfAborted()
    const wire: WireParams = body === undefined ? rest : { ...rest, values: body }
    let id: number | undefined
    // The caller stops waiting at once, as on a local connection; the owner stops waiting too (chDB
    // itself finishes an aborted query in the background, as it does for a local caller).
    const onAbort = () => {
      if (id === undefined) return
      port.postMessage({ kind: 'abort', call: id })
      calls.abandon(id, new Error('Query aborted', { cause: signal!.reason }))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await calls.call<WireResult>({ kind: 'call', operation, params: wire }, typeof body === 'object' ? [body.buffer as ArrayBuffer] : [], (callId) => { id = callId })
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }
  const withStream = (result: WireResult): ConnQueryResult<Readable> => {
    const { bytes, ...rest } = result
    return { ...(rest as ConnBaseResult), stream: Readable.from(bytes && bytes.byteLength > 0 ? [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)] : []) }
  }

  return {
    async ping(params): Promise<ConnPingResult> {
      const result = await call('ping', params)
      return result.success ? { success: true } : { success: false, error: new Error(result.error?.message ?? 'ping failed') }
    },
    query: async (params) => withStream(await call('query', params as unknown as Record<string, unknown>)),
    exec: async (params) => withStream(await call('exec', params as unknown as Record<string, unknown>)) as ConnExecResult<Readable>,
    command: async (params) => (await call('command', params as unknown as Record<string, unknown>)) as ConnBaseResult as ConnInsertResult,
    insert: async (params) => (await call('insert', params as unknown as Record<string, unknown>)) as ConnBaseResult as ConnInsertResult,
    async close() {
      // The owner's connection is the owner's to close.
    },
  }
}
