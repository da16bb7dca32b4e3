import type { EventByStream } from '../../core/codec/avro-codec.ts'
import type { FieldError } from '../../core/http/problem.ts'
import { isObject, type Json } from '../../ingest/normalise/fields.ts'
import { normaliseLogLine } from '../../ingest/normalise/log.ts'
import { normaliseNotification } from '../../ingest/normalise/notification.ts'
import { normaliseSegmentCall, type Normalised } from '../../ingest/normalise/segment.ts'
import type { TimeBounds } from '../../ingest/normalise/time.ts'
import { UserAgentParser } from '../../ingest/normalise/user-agent.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'

/** A line ready to publish: the event as ingest would have made it, and the line it came from. */
export type AcceptedLine = { [S in Stream]: { readonly ok: true; readonly stream: S; readonly event: EventByStream[S]; readonly payload: Json } }[Stream]
export type RefusedLine = { readonly ok: false; readonly reason: string }

export interface ImportContext {
  readonly projectId: string
  /** When the import runs: the events' received_at, and what retention is measured from. */
  readonly receivedAt: number
  readonly bounds: TimeBounds
  readonly userAgents: UserAgentParser
  /** Every line is of this stream; undefined tells each line's stream by its fields. */
  readonly stream?: Stream
}

const SEGMENT_TYPES = new Set(['track', 'page', 'screen', 'identify'])

/**
 * Which stream a line belongs to: Segment calls carry `type`, Eddy's notifications a
 * `notification_id`, log lines a `service`. Undefined when none fits.
 */
export function streamOf(line: Json): Stream | undefined {
  if (typeof line.type === 'string' && SEGMENT_TYPES.has(line.type)) return 'click'
  if (line.notification_id !== undefined) return 'notification'
  if (line.service !== undefined) return 'log'
  return undefined
}

/**
 * One parsed line through ingest's own normalisers, so an import validates, normalises and
 * derives event ids exactly as the live endpoints do (messageId → event_id: importing twice
 * stores once). One difference, on purpose: a Segment line's `sentAt` is dropped. Ingest corrects
 * client clock skew by how long ago the client sent the batch; an archived call was sent long
 * ago and its `timestamp` is already the corrected time, which is what the import keeps.
 */
export function normaliseImportLine(value: unknown, context: ImportContext): AcceptedLine | RefusedLine {
  if (!isObject(value)) return { ok: false, reason: 'must be a JSON object' }
  const stream = context.stream ?? streamOf(value)
  if (!stream) return { ok: false, reason: 'is not a Segment call (type), a log line (service) or a notification (notification_id); --stream says which' }
  const { projectId, receivedAt, bounds } = context
  if (stream === 'click') {
    const { sentAt: _sentAt, ...payload } = value
    const result = normaliseSegmentCall(payload, 0, { projectId, receivedAt, bounds, userAgent: '', country: null, userAgents: context.userAgents })
    return verdict(result, (event) => ({ ok: true, stream, event, payload }), '/batch/0')
  }
  if (stream === 'log') return verdict(normaliseLogLine(value, 0, { projectId, receivedAt, bounds }), (event) => ({ ok: true, stream, event, payload: value }), '')
  return verdict(normaliseNotification(value, 0, { projectId, receivedAt, bounds }), (event) => ({ ok: true, stream, event, payload: value }), '/0')
}

function verdict<T>(result: Normalised<T>, accept: (event: T) => AcceptedLine, pointer: string): AcceptedLine | RefusedLine {
  return result.ok ? accept(result.event) : { ok: false, reason: describeFieldErrors(result.errors, pointer) }
}

/** `/timestamp: must be …; /service: is required`, without the batch pointer a file line has no use for. */
export function describeFieldErrors(errors: readonly FieldError[], pointer = ''): string {
  return errors.map((error) => {
    const field = error.field.startsWith(pointer) ? error.field.slice(pointer.length) : error.field
    return field ? `${field}: ${error.reason}` : error.reason
  }).join('; ')
}
