import type { Stream } from '../../schemas/avro/catalog.ts'

/** The table each stream's raw events are stored in (schemas/clickhouse/0001_raw_events.sql); processors write it, the api reads it. */
export const RAW_TABLE: Readonly<Record<Stream, string>> = {
  click: 'events_click',
  log: 'events_log',
  notification: 'events_notification',
}
