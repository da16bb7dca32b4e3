import type { NotificationStatus } from '../../schemas/types.generated.ts'
import { isObject, type Json } from '../normalise/fields.ts'
import type { ProviderEvent } from './provider-event.ts'

/** SendGrid event types onto Eddy's statuses; `deferred` is a temporary refusal, still queued at SendGrid. */
const STATUSES: Record<string, NotificationStatus> = {
  processed: 'sent', deferred: 'queued', delivered: 'delivered', open: 'opened', click: 'clicked', bounce: 'bounced',
  dropped: 'dropped', spamreport: 'complained', unsubscribe: 'unsubscribed', group_unsubscribe: 'unsubscribed',
}
/** Fields that become columns or are personal data (the address, the IP); the rest are attributes. */
const OWN = new Set(['email', 'timestamp', 'event', 'sg_event_id', 'sg_message_id', 'reason', 'status', 'response', 'ip', 'useragent', 'notification_id', 'user_id', 'template', 'smtp-id'])

/**
 * One SendGrid Event Webhook event. `sg_event_id` is the deduplication key (SendGrid resends a
 * batch it got no 2xx for); `sg_message_id` the notification id, unless the sender put its own
 * `notification_id` in custom_args (custom args arrive as top-level fields), which then joins the
 * sender's own lifecycle events. `template`, `user_id` likewise from custom args; the first
 * category is the template otherwise.
 */
export function sendgridEvent(event: unknown): ProviderEvent {
  if (!isObject(event)) return { error: 'an event must be an object' }
  const type = typeof event.event === 'string' ? event.event : ''
  const status = STATUSES[type]
  if (!status) return { ignored: `event ${JSON.stringify(type)} has no notification status` }
  const bounceType = typeof event.type === 'string' ? event.type : undefined
  const categories = Array.isArray(event.category) ? event.category : typeof event.category === 'string' ? [event.category] : []
  const attributes: Json = { provider_event: type }
  for (const [key, value] of Object.entries(event)) if (!OWN.has(key) && key !== 'category' && key !== 'type') attributes[key] = value
  if (bounceType) attributes.bounce_type = bounceType
  if (categories.length > 0) attributes.category = categories.join(',')
  return {
    notification: {
      ...(typeof event.sg_event_id === 'string' ? { event_id: `sendgrid:${event.sg_event_id}` } : {}),
      notification_id: event.notification_id ?? event.sg_message_id,
      channel: 'email',
      // A "blocked" bounce is SendGrid's name for a refusal that was not about the address.
      status: status === 'bounced' && bounceType === 'blocked' ? 'failed' : status,
      provider: 'sendgrid',
      template: typeof event.template === 'string' ? event.template : typeof categories[0] === 'string' ? categories[0] : '',
      user_id: event.user_id,
      timestamp: typeof event.timestamp === 'number' ? event.timestamp * 1_000 : event.timestamp,
      error_code: typeof event.status === 'string' ? event.status : undefined,
      error_message: typeof event.reason === 'string' ? event.reason : typeof event.response === 'string' && status !== 'delivered' ? event.response : undefined,
      attributes,
    },
  }
}
