import { Readable } from 'node:stream'
import type { MessagePort } from 'node:worker_threads'
import type { Connection } from 'chdb/connection'
import { answer } from '../../thread/rpc.ts'
import { ownedBytes } from './bytes.ts'
import { CLICKHOUSE_ERRORS } from './errors.ts'
import type { ClientMessage, WireParams, WireResult } from './protocol.ts'

/**
 * Serves a ClickHouse connection this thread owns to another thread over `port` (the using side
 * is connection.ts). The embedded engine binds its data dir to the one connection that opened it,
 * and a second connection in another thread of the process stalls the first: a thread that
 * processes reaches chDB through here. Each call runs on the owner's connection as it would
 * locally; the engine works off the owner's event loop, so serving costs it a message per call.
 * An abort makes the owner stop waiting; chDB finishes the query in the background either way.
 */
export function serveClickHouse(connection: Connection<Readable>, port: MessagePort): { close(): void } {
  const running = new Map<number, AbortController>()

  const run = async (id: number, operation: ClientMessage & { kind: 'call' }): Promise<WireResult> => {
    const abort = new AbortController()
    running.set(id, abort)
    try {
      const params = { ...localParams(operation.params), abort_signal: abort.signal }
      switch (operation.operation) {
        case 'ping': {
          const result = await connection.ping(params as Parameters<Connection<Readable>['ping']>[0])
          return result.success ? { success: true } : { success: false, error: { message: result.error.message } }
        }
        case 'command':
          return withoutStream(await connection.command(params as Parameters<Connection<Readable>['command']>[0]))
        case 'insert':
          return withoutStream(await connection.insert(params as Parameters<Connection<Readable>['insert']>[0]))
        case 'query': {
          const { stream, ...rest } = await connection.query(params as Parameters<Connection<Readable>['query']>[0])
          return { ...withoutStream(rest), bytes: await ownedBytes(stream) }
        }
        case 'exec': {
          const { stream, ...rest } = await connection.exec(params as Parameters<Connection<Readable>['exec']>[0])
          return { ...withoutStream(rest), bytes: await ownedBytes(stream) }
        }
      }
    } finally {
      running.delete(id)
    }
  }

  const onMessage = (message: ClientMessage) => {
    if (message.kind === 'abort') return running.get(message.call)?.abort()
    void answer(port, message.id, () => run(message.id, message), CLICKHOUSE_ERRORS, (result) => (result.bytes ? [result.bytes.buffer as ArrayBuffer] : []))
  }
  port.on('message', onMessage)
  return {
    close() {
      port.off('message', onMessage)
      for (const abort of running.values()) abort.abort()
    },
  }
}

function localParams(params: WireParams): Record<string, unknown> {
  if (params.values === undefined || typeof params.values === 'string') return params
  return { ...params, values: Readable.from([Buffer.from(params.values.buffer, params.values.byteOffset, params.values.byteLength)]) }
}

function withoutStream(result: object): WireResult {
  const { stream: _stream, ...rest } = result as { stream?: unknown }
  return rest as WireResult
}
