import type { Stream } from '../../schemas/avro/catalog.ts'
import type { Job } from '../job.ts'
import { clickstreamJob } from './clickstream.ts'
import { logsJob } from './logs.ts'
import { notificationsJob } from './notifications.ts'

/** The jobs Eddy runs, in one place so the pipeline, the tests and the benchmarks run the same set. */
export function defaultJobs(): Job<Stream>[] {
  return [clickstreamJob() as Job<Stream>, logsJob() as Job<Stream>, notificationsJob() as Job<Stream>]
}

/** Named outputs → ClickHouse tables (unqualified); 'late' is bound to the late topic. */
export const OUTPUT_TABLES: Readonly<Record<string, string>> = {
  clicks_1m: 'clicks_1m',
  sessions: 'sessions',
  page_transitions_1h: 'page_transitions_1h',
  active_visitors_5m: 'active_visitors_5m',
  logs_1m: 'logs_1m',
  error_fingerprints_1h: 'error_fingerprints_1h',
  log_anomalies: 'log_anomalies',
  notifications_1m: 'notifications_1m',
  notification_lifecycle: 'notification_lifecycle',
}
