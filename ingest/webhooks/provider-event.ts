import type { Json } from '../normalise/fields.ts'

/**
 * A provider's event mapped onto the input of normaliseNotification, or why it was skipped
 * (`ignored`: a valid event with no notification status, such as an inbound SMS) or refused.
 */
export interface ProviderEvent {
  readonly notification?: Json
  readonly ignored?: string
  readonly error?: string
}
