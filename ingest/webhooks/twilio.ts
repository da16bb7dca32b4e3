import type { NotificationStatus } from '../../schemas/types.generated.ts'
import type { ProviderEvent } from './provider-event.ts'

/**
 * Twilio's MessageStatus values onto Eddy's statuses. WhatsApp's `read` is an open; `undelivered`
 * (the carrier gave up) and `failed` (never sent) are both failures, told apart by error_code.
 */
const STATUSES: Record<string, NotificationStatus> = {
  accepted: 'queued', scheduled: 'queued', queued: 'queued', sending: 'sent', sent: 'sent', delivered: 'delivered',
  read: 'opened', undelivered: 'failed', failed: 'failed', canceled: 'dropped',
}
/** Parameters kept as attributes; phone numbers (To, From) are personal data and are not stored. */
const KEPT = ['AccountSid', 'MessagingServiceSid', 'ApiVersion', 'ChannelPrefix', 'SmsStatus', 'RawDlrDoneDate']

/**
 * A Twilio message status callback (form parameters). The deduplication key is
 * (MessageSid, MessageStatus): Twilio reports each status of a message once, and resends the same
 * pair when it got no 2xx. Callbacks carry no event time, so the time is when Eddy received them.
 */
export function twilioStatusCallback(params: URLSearchParams): ProviderEvent {
  const sid = params.get('MessageSid') ?? params.get('SmsSid') ?? ''
  const word = params.get('MessageStatus') ?? params.get('SmsStatus') ?? ''
  const status = STATUSES[word]
  if (!sid) return { error: 'MessageSid is missing' }
  if (!status) return { ignored: `MessageStatus ${JSON.stringify(word)} has no notification status` }
  const attributes: Record<string, string> = { provider_event: word }
  for (const name of KEPT) {
    const value = params.get(name)
    if (value) attributes[name.replace(/[A-Z]/g, (c, at: number) => (at === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`))] = value
  }
  const channel = (params.get('To') ?? '').startsWith('whatsapp:') || params.get('ChannelPrefix') === 'whatsapp' ? 'whatsapp' : undefined
  if (channel) attributes.channel_prefix = channel
  return {
    notification: {
      event_id: `twilio:${sid}:${word}`,
      notification_id: sid,
      channel: 'sms',
      status,
      provider: 'twilio',
      error_code: params.get('ErrorCode') ?? undefined,
      error_message: params.get('ErrorMessage') ?? undefined,
      attributes,
    },
  }
}
