/**
 * The live feed's contract between ingest (which counts and samples accepted events into the
 * LiveHub) and the api (which reads them once per project per second and fans them out):
 * counter names, the tail channel and the trimmed shape of a tail event.
 */
import type { Stream } from '../../schemas/avro/catalog.ts'
import type { LogLevel, NotificationStatus } from '../../schemas/types.generated.ts'

/** Counters count per second: the live charts' resolution. */
export const LIVE_WINDOW_MS = 1_000

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']
export const NOTIFICATION_STATUSES: readonly NotificationStatus[] = ['queued', 'sent', 'delivered', 'opened', 'clicked', 'bounced', 'failed', 'dropped', 'complained', 'unsubscribed']
export const LIVE_STREAMS: readonly Stream[] = ['click', 'log', 'notification']

export const liveCounters = {
  pageviews: (projectId: string) => `${projectId}:pageviews`,
  events: (projectId: string, stream: Stream) => `${projectId}:events:${stream}`,
  logLevel: (projectId: string, level: LogLevel) => `${projectId}:log:${level}`,
  notificationStatus: (projectId: string, status: NotificationStatus) => `${projectId}:notification:${status}`,
}

export const tailChannel = (projectId: string) => `tail:${projectId}`

/** A sampled, trimmed event: enough to watch traffic go by, never a whole payload. */
export interface TailEvent {
  readonly stream: Stream
  readonly id: string
  /** Event time and acceptance time, ms. */
  readonly ts: number
  readonly received: number
  /** click: type, name, path, referrer domain, country, browser, device. */
  readonly type?: string
  readonly name?: string
  readonly path?: string
  readonly referrer?: string
  readonly country?: string
  readonly browser?: string
  readonly device?: string
  /** log: level, service, the first characters of the message. */
  readonly level?: string
  readonly service?: string
  readonly message?: string
  /** notification: channel, status, provider, template. */
  readonly channel?: string
  readonly status?: string
  readonly provider?: string
  readonly template?: string
}

/** What ingest publishes on tailChannel: the events sampled since its last flush. */
export interface TailBatch {
  readonly events: readonly TailEvent[]
}

export const TAIL_MESSAGE_CHARS = 200
