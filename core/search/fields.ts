import type { LogEvent, NotificationEvent } from '../../schemas/types.generated.ts'
import type { SearchStream } from './port.ts'

/**
 * What a hit of each stream carries besides event_id, ts and attributes: the same names in the
 * ClickHouse raw tables, the Elasticsearch documents and the API's responses.
 */
export const HIT_FIELDS: Record<SearchStream, readonly string[]> = {
  log: ['service', 'host', 'level', 'message', 'logger', 'trace_id', 'span_id'],
  notification: ['notification_id', 'channel', 'provider', 'template', 'user_id', 'status', 'error_code', 'error_message'],
}

/** The free-text field of each stream. */
export const TEXT_FIELD: Record<SearchStream, 'message' | 'error_message'> = {
  log: 'message',
  notification: 'error_message',
}

export type SearchEvent<S extends SearchStream> = S extends 'log' ? LogEvent : NotificationEvent
