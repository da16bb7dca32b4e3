import { HIT_FIELDS, TEXT_FIELD, type SearchEvent } from '../fields.ts'
import type { SearchHit, SearchStream } from '../port.ts'
import { tokenize } from '../query/index.ts'

/**
 * The Elasticsearch document of an event. Besides the event's own fields, the free-text field is
 * indexed a second time as `<field>_tokens`: Eddy's own tokens (the ClickHouse token rule, ASCII
 * case folded) separated by spaces under the whitespace analyzer. Term and phrase queries on it then match
 * exactly what ClickHouse's token functions match, so both backends give the same answers, and it
 * needs no analysis plugin. It is left out of `_source`.
 */
export function searchDocument<S extends SearchStream>(stream: S, event: SearchEvent<S>): Record<string, unknown> {
  const source = event as unknown as Record<string, unknown>
  const document: Record<string, unknown> = {
    event_id: event.event_id,
    project_id: event.project_id,
    ts: event.ts,
    received_at: event.received_at,
  }
  for (const field of HIT_FIELDS[stream]) document[field] = source[field] ?? ''
  document.attributes = event.attributes
  const text = TEXT_FIELD[stream]
  document[`${text}_tokens`] = tokensOf(String(source[text] ?? ''))
  return document
}

export function tokensOf(text: string): string {
  return tokenize(text).join(' ')
}

/** A hit from a document's `_source`. */
export function hitFromSource(stream: SearchStream, source: Record<string, unknown>): SearchHit {
  const fields: Record<string, string> = {}
  for (const field of HIT_FIELDS[stream]) fields[field] = String(source[field] ?? '')
  return {
    eventId: String(source.event_id),
    ts: Number(source.ts),
    fields,
    attributes: (source.attributes as Record<string, string> | undefined) ?? {},
  }
}
