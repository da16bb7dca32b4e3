import type { Channel, NotificationEvent, NotificationStatus } from '../../schemas/types.generated.ts'
import { derivedEventId, eventIdFor } from './event-id.ts'
import { FieldReader, isObject, stringMap } from './fields.ts'
import { epochToMillis } from './log.ts'
import type { Normalised } from './segment.ts'
import { readEventTime, type TimeBounds } from './time.ts'

export const CHANNELS: readonly Channel[] = ['email', 'sms', 'push', 'in_app', 'webhook']
export const STATUSES: readonly NotificationStatus[] = ['queued', 'sent', 'delivered', 'opened', 'clicked', 'bounced', 'failed', 'dropped', 'complained', 'unsubscribed']

export const MAX_PROVIDER_LENGTH = 100
export const MAX_TEMPLATE_LENGTH = 200

export interface NotificationContext {
  readonly projectId: string
  readonly receivedAt: number
  readonly bounds: TimeBounds
}

/**
 * A notification lifecycle event from the sender's own notifier. Without an `event_id` the id is
 * derived from (notification_id, status, timestamp): the same notification cannot reach the same
 * status twice at the same millisecond, so a retried batch deduplicates.
 */
export function normaliseNotification(input: unknown, index: number, context: NotificationContext): Normalised<NotificationEvent> {
  const read = new FieldReader(index, `/${index}`)
  if (!isObject(input)) {
    read.fail('', 'must be an object')
    return { ok: false, errors: read.errors }
  }
  const notificationId = read.identifier(input, 'notification_id')
  if (!notificationId) read.fail('notification_id', 'is required')
  const channel = read.oneOf(read.string(input, 'channel'), CHANNELS, 'channel')
  const status = read.oneOf(read.string(input, 'status'), STATUSES, 'status')
  // Numbers may be epoch seconds (providers) or milliseconds; see epochToMillis.
  const time = input.timestamp ?? input.ts
  const ts = readEventTime(typeof time === 'number' ? epochToMillis(time) : time, context.receivedAt, context.bounds, (reason) => read.fail('timestamp', reason))
  const attributes = read.object(input, 'attributes')
  const fields = {
    provider: read.string(input, 'provider', 'provider', MAX_PROVIDER_LENGTH),
    template: read.string(input, 'template', 'template', MAX_TEMPLATE_LENGTH),
    userId: read.identifier(input, 'user_id'),
    errorCode: read.identifier(input, 'error_code'),
    errorMessage: read.string(input, 'error_message'),
  }
  if (read.errors.length > 0 || !channel || !status) return { ok: false, errors: read.errors }
  return {
    ok: true,
    event: {
      event_id: input.event_id !== undefined
        ? eventIdFor(context.projectId, input.event_id)
        : derivedEventId(context.projectId, 'notification', notificationId, status, ts),
      project_id: context.projectId,
      ts,
      received_at: context.receivedAt,
      notification_id: notificationId,
      channel,
      provider: fields.provider,
      template: fields.template,
      user_id: fields.userId || null,
      status,
      error_code: fields.errorCode || null,
      error_message: fields.errorMessage || null,
      attributes: stringMap(attributes),
    },
  }
}
