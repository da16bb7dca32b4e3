import type { Reply } from '../../thread/rpc.ts'

export type Operation = 'query' | 'command' | 'insert' | 'exec' | 'ping'

/**
 * A connection call as it crosses: the client's parameters without the abort signal (an abort
 * crosses as a message of its own) and with the values of an insert or exec read into bytes.
 */
export interface WireParams {
  readonly [name: string]: unknown
  readonly values?: string | Uint8Array
}

/** What a call's answer carries back; `bytes` is the result body of a query or exec. */
export interface WireResult {
  readonly query_id?: string
  readonly response_headers?: Record<string, string | string[] | undefined>
  readonly http_status_code?: number
  readonly summary?: unknown
  readonly bytes?: Uint8Array
  /** A ping's answer. */
  readonly success?: boolean
  readonly error?: { readonly message: string }
}

/** Sent by the using thread; answered by a Reply of the same id (abort is not answered). */
export type ClientMessage =
  | { readonly kind: 'call'; readonly id: number; readonly operation: Operation; readonly params: WireParams }
  | { readonly kind: 'abort'; readonly call: number }

export type ServerMessage = Reply
