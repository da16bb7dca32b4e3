import type { Stream } from '../../schemas/avro/catalog.ts'
import type { Job } from '../job.ts'
import { clickstreamJob } from './clickstream.ts'
import { logsJob } from './logs.ts'
import { notificationsJob } from './notifications.ts'

/** The jobs Eddy runs, in one place so the pipeline, the tests and the benchmarks run the same set. */
export function defaultJobs(): Job<Stream>[] {
  return [clickstreamJob() as Job<Stream>, logsJob() as Job<Stream>, notificationsJob() as Job<Stream>]
}
