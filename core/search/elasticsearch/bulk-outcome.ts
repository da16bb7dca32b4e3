/**
 * What to do with each item of a `_bulk` response. Only a refusal of the document itself (its
 * shape does not fit the mapping, a value does not parse, its time makes no valid index name) goes
 * to the dead-letter queue: sending it again cannot help. Everything else is about the cluster, not
 * the document: back-pressure (429), node trouble (5xx), a blocked index, an index that could not
 * be created (shard limit, permissions). Those items are retried, the partition waits, and the log
 * says why, so an operator can fix the cluster; nothing is dropped.
 */
const DOCUMENT_ERRORS = new Set([
  'document_parsing_exception',
  'mapper_parsing_exception',
  'strict_dynamic_mapping_exception',
  'illegal_argument_exception',
  'invalid_index_name_exception',
])

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
  if (status >= 400 && status < 500 && status !== 429 && error?.type !== undefined && DOCUMENT_ERRORS.has(error.type)) return { kind: 'reject', reason }
  return { kind: 'retry', reason }
}
