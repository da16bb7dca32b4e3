import type { EventByStream } from '../codec/avro-codec.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'

/**
 * Records of one stream share a partition when they share this key (and so stay in order).
 * Clicks go by visitor, not by session: processors aggregate per partition, and a visitor who
 * never spans two partitions is what makes per-partition unique-visitor counts add up. Ingest keys
 * records by it; a reprocess routes raw rows by it to the partition that counted them live.
 */
export const PARTITION_KEY: { readonly [S in Stream]: (event: EventByStream[S]) => string } = {
  click: (event) => event.anonymous_id,
  log: (event) => event.service,
  notification: (event) => event.notification_id,
}

/** The raw table's column holding the partition key (the field PARTITION_KEY reads). */
export const PARTITION_KEY_COLUMN: { readonly [S in Stream]: string } = {
  click: 'anonymous_id',
  log: 'service',
  notification: 'notification_id',
}

/** The partition key of one event of `stream` (the mapped type above cannot be called on a union). */
export function partitionKeyOf<S extends Stream>(stream: S, event: EventByStream[S]): string {
  return (PARTITION_KEY[stream] as (event: EventByStream[S]) => string)(event)
}
