import type { EventByStream } from '../../core/codec/avro-codec.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'

/**
 * Raw rows are the events themselves; ClickHouse columns are not Nullable (empty string instead of
 * null), which keeps the columns cheap and the queries simple. The pipeline stores them as Avro
 * (input_format_null_as_default does this mapping, see core/clickhouse/avro-insert.ts); these are
 * the same rows as objects, for JSON inserts in benches and tests, and the reference the Avro path
 * is tested against.
 */
export const RAW_ROW: { [S in Stream]: (event: EventByStream[S]) => Record<string, unknown> } = {
  click: (event) => ({
    ...event,
    user_id: event.user_id ?? '',
    country: event.country ?? '',
    visitor_hash: event.visitor_hash ?? '',
  }),
  log: (event) => ({
    ...event,
    logger: event.logger ?? '',
    trace_id: event.trace_id ?? '',
    span_id: event.span_id ?? '',
  }),
  notification: (event) => ({
    ...event,
    user_id: event.user_id ?? '',
    error_code: event.error_code ?? '',
    error_message: event.error_message ?? '',
  }),
}
