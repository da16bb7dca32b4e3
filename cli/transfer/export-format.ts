import type { Json } from '../../ingest/normalise/fields.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'

/** A raw row as the export query selects it: times as epoch ms, absent strings as ''. */
export type RawRow = Record<string, unknown> & { readonly event_id: string; readonly ts: number }

/** The columns each export selects from its raw table, in order; times come out as epoch ms. */
export const EXPORT_COLUMNS: Readonly<Record<Stream, readonly string[]>> = {
  click: ['event_id', 'type', 'name', 'ts', 'received_at', 'anonymous_id', 'user_id', 'session_id', 'url', 'path', 'title', 'referrer',
    'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'browser', 'os', 'device_type', 'country', 'screen', 'locale', 'properties', 'visitor_hash'],
  log: ['event_id', 'ts', 'received_at', 'service', 'host', 'level', 'message', 'logger', 'trace_id', 'span_id', 'attributes'],
  notification: ['event_id', 'ts', 'received_at', 'notification_id', 'channel', 'provider', 'template', 'user_id', 'status', 'error_code', 'error_message', 'attributes'],
}

const CALL_OF_TYPE: Readonly<Record<string, string>> = { pageview: 'page', custom: 'track', click: 'track', identify: 'identify' }

const text = (value: unknown): string => (typeof value === 'string' ? value : '')
const iso = (ms: unknown): string => new Date(Number(ms)).toISOString()

/** Only the non-empty entries, so a line carries no `"": ""` noise and absent stays absent. */
function present(fields: Record<string, unknown>): Json {
  const out: Json = {}
  for (const [key, value] of Object.entries(fields)) {
    if (value === '' || value === undefined || value === null) continue
    if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) continue
    out[key] = value
  }
  return out
}

/**
 * A stored click as the Segment call it came from (what Segment's archives and RudderStack
 * write): messageId is the event_id, so importing the export anywhere deduplicates against it.
 * Eddy keeps the browser, OS and device a user agent parsed to, not the user agent, so those go
 * under `context.eddy`, which Eddy's normaliser takes back (ingest/normalise/archived-client.ts).
 * Normalising the line again gives the same row (cli/transfer/export-format.test.ts).
 */
export function segmentCall(row: RawRow): Json {
  const call = CALL_OF_TYPE[text(row.type)] ?? 'track'
  const screen = /^(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)$/.exec(text(row.screen))
  const context = present({
    page: present({ url: row.url, path: row.path, title: row.title, referrer: row.referrer }),
    campaign: present({ source: row.utm_source, medium: row.utm_medium, name: row.utm_campaign, term: row.utm_term, content: row.utm_content }),
    locale: row.locale,
    screen: screen ? { width: Number(screen[1]), height: Number(screen[2]) } : undefined,
    location: present({ country: row.country }),
    sessionId: row.session_id,
    // browser and os stay even when '' (no user agent): the normaliser takes the block only whole.
    eddy: { browser: text(row.browser), os: text(row.os), deviceType: text(row.device_type) || 'other', ...(text(row.visitor_hash) ? { visitorHash: row.visitor_hash } : {}) },
  })
  return present({
    type: call,
    ...(call === 'track' ? { event: row.name } : call === 'page' ? { name: row.name } : {}),
    messageId: row.event_id,
    anonymousId: row.anonymous_id,
    userId: row.user_id,
    timestamp: iso(row.ts),
    receivedAt: iso(row.received_at),
    context,
    [call === 'identify' ? 'traits' : 'properties']: row.properties,
  })
}

/** A stored log line in the shape `/v1/logs` takes (and pino writes). */
export function logLine(row: RawRow): Json {
  return present({
    event_id: row.event_id,
    timestamp: iso(row.ts),
    service: row.service,
    host: row.host,
    level: row.level,
    message: row.message,
    logger: row.logger,
    trace_id: row.trace_id,
    span_id: row.span_id,
    attributes: row.attributes,
  })
}

/** A stored notification event in the shape `/v1/notifications` takes. */
export function notificationEvent(row: RawRow): Json {
  return present({
    event_id: row.event_id,
    timestamp: iso(row.ts),
    notification_id: row.notification_id,
    channel: row.channel,
    provider: row.provider,
    template: row.template,
    user_id: row.user_id,
    status: row.status,
    error_code: row.error_code,
    error_message: row.error_message,
    attributes: row.attributes,
  })
}

export const EXPORT_FORMAT: Readonly<Record<Stream, (row: RawRow) => Json>> = { click: segmentCall, log: logLine, notification: notificationEvent }
