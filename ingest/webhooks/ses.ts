import type { NotificationStatus } from '../../schemas/types.generated.ts'
import { isObject, type Json } from '../normalise/fields.ts'
import type { ProviderEvent } from './provider-event.ts'

/** SES event types (event publishing `eventType`, or identity notifications' `notificationType`). */
const STATUSES: Record<string, { status: NotificationStatus; detail: string }> = {
  Send: { status: 'sent', detail: 'send' },
  Delivery: { status: 'delivered', detail: 'delivery' },
  DeliveryDelay: { status: 'queued', detail: 'deliveryDelay' },
  Bounce: { status: 'bounced', detail: 'bounce' },
  Complaint: { status: 'complained', detail: 'complaint' },
  Reject: { status: 'dropped', detail: 'reject' },
  Open: { status: 'opened', detail: 'open' },
  Click: { status: 'clicked', detail: 'click' },
  'Rendering Failure': { status: 'failed', detail: 'failure' },
  Subscription: { status: 'unsubscribed', detail: 'subscription' },
}

/**
 * An SES event delivered by SNS (the envelope's Message, parsed). The SNS MessageId is the
 * deduplication key (SNS resends a message with the same id); `mail.messageId` is the
 * notification id unless a `notification_id` message tag names the sender's own; the time is the
 * event's own (`delivery.timestamp`, `bounce.timestamp`, …), else the mail's.
 */
export function sesEvent(message: unknown, snsMessageId: string): ProviderEvent {
  if (!isObject(message)) return { error: 'the SNS Message is not an SES event (JSON object)' }
  const type = typeof message.eventType === 'string' ? message.eventType : typeof message.notificationType === 'string' ? message.notificationType : ''
  const known = STATUSES[type]
  if (!known) return { ignored: `SES event type ${JSON.stringify(type)} has no notification status` }
  const mail = isObject(message.mail) ? message.mail : {}
  const detail = isObject(message[known.detail]) ? (message[known.detail] as Json) : {}
  const tags = isObject(mail.tags) ? mail.tags : {}
  const tag = (name: string) => (Array.isArray(tags[name]) && typeof tags[name][0] === 'string' ? (tags[name][0] as string) : undefined)
  const attributes: Record<string, string> = { provider_event: type }
  let status = known.status
  let errorCode: string | undefined
  let errorMessage: string | undefined
  if (type === 'Bounce') {
    errorCode = [detail.bounceType, detail.bounceSubType].filter((part) => typeof part === 'string').join('/')
    const recipient = Array.isArray(detail.bouncedRecipients) && isObject(detail.bouncedRecipients[0]) ? detail.bouncedRecipients[0] : {}
    errorMessage = typeof recipient.diagnosticCode === 'string' ? recipient.diagnosticCode : undefined
    // A transient bounce is not final: SES gave up on this message, but the address is fine.
    if (detail.bounceType === 'Transient') status = 'failed'
  } else if (type === 'Complaint') {
    errorCode = typeof detail.complaintFeedbackType === 'string' ? detail.complaintFeedbackType : undefined
  } else if (type === 'Reject') {
    errorMessage = typeof detail.reason === 'string' ? detail.reason : undefined
  } else if (type === 'Rendering Failure') {
    errorMessage = typeof detail.errorMessage === 'string' ? detail.errorMessage : undefined
  } else if (type === 'DeliveryDelay') {
    errorCode = typeof detail.delayType === 'string' ? detail.delayType : undefined
  } else if (type === 'Click' && typeof detail.link === 'string') {
    attributes.link = detail.link
  }
  for (const [name, values] of Object.entries(tags)) {
    if (Array.isArray(values) && !name.startsWith('ses:') && name !== 'notification_id') attributes[`tag.${name}`] = values.join(',')
  }
  if (typeof mail.sourceArn === 'string') attributes.source_arn = mail.sourceArn
  return {
    notification: {
      event_id: `ses:${snsMessageId}`,
      notification_id: tag('notification_id') ?? mail.messageId,
      channel: 'email',
      status,
      provider: 'ses',
      template: tag('template') ?? '',
      user_id: tag('user_id'),
      timestamp: detail.timestamp ?? mail.timestamp,
      error_code: errorCode || undefined,
      error_message: errorMessage,
      attributes,
    },
  }
}
