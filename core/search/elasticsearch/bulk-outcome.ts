/**
 * What to do with each item of a `_bulk` response. Only a rejection of the document itself
 * (mapping, parsing, validation: a 4xx) goes to the dead-letter queue: sending it again cannot
 * help. Back-pressure (429), node trouble (5xx) and a blocked index (403, e.g. read-only after the
 * disk filled up) heal by themselves, so those items are retried and nothing is dropped.
 */
export type ItemOutcome =
  | { readonly kind: 'indexed' }
  | { readonly kind: 'retry'; readonly reason: string }
  | { readonly kind: 'reject'; readonly reason: string }

interface BulkItemError {
  readonly type?: string
  readonly reason?: string | null
  readonly caused_by?: { readonly type?: string; readonly reason?: string | null }
}

export interface BulkResponseItem {
  readonly [operation: string]: { readonly status: number; readonly error?: BulkItemError } | undefined
}

export function describeItemError(status: number, error: BulkItemError | undefined): string {
  if (!error) return `status ${status}`
  const cause = error.caused_by ? ` (${error.caused_by.type ?? 'cause'}: ${error.caused_by.reason ?? ''})` : ''
  return `${error.type ?? 'error'}: ${error.reason ?? ''}${cause}`.slice(0, 1_000)
}

export function itemOutcome(item: BulkResponseItem): ItemOutcome {
  const result = item.index ?? item.create ?? Object.values(item)[0]
  if (!result) return { kind: 'retry', reason: 'bulk response item without a result' }
  const { status, error } = result
  if (status >= 200 && status < 300) return { kind: 'indexed' }
  const reason = describeItemError(status, error)
  if (status === 429 || status >= 500 || error?.type === 'cluster_block_exception') return { kind: 'retry', reason }
  return { kind: 'reject', reason }
}
