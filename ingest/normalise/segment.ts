import type { FieldError } from '../../core/http/problem.ts'
import type { ClickEvent, ClickType } from '../../schemas/types.generated.ts'
import { readArchivedClient } from './archived-client.ts'
import { eventIdFor } from './event-id.ts'
import { FieldReader, isObject, stringMap, type Json } from './fields.ts'
import { correctClockSkew, readTime, timeProblem, type TimeBounds } from './time.ts'
import { parsePageUrl, referrerDomain } from './url.ts'
import type { UserAgentParser } from './user-agent.ts'

export interface RequestContext {
  readonly projectId: string
  readonly receivedAt: number
  /** Batch-level sentAt (Segment puts it on the batch and on each message). */
  readonly sentAt?: number
  readonly userAgent: string
  /** Country from a trusted edge header (CDN/proxy), when present. */
  readonly country: string | null
  readonly bounds: TimeBounds
  readonly userAgents: UserAgentParser
  /**
   * The cookieless visitor hash of this request's client for a site (the page's host), for
   * events that ask for it with `context.cookieless: true`; absent where ingest offers none.
   */
  readonly visitor?: (site: string) => string
}

export type Normalised<T> = { ok: true; event: T } | { ok: false; errors: FieldError[] }

const CALL_TYPES = ['track', 'page', 'screen', 'identify'] as const
/** Longest track event name and page or screen name. */
export const MAX_NAME_LENGTH = 200
type CallType = (typeof CALL_TYPES)[number]

const EVENT_TYPE: Record<CallType, ClickType> = { track: 'custom', page: 'pageview', screen: 'pageview', identify: 'identify' }
/** Autocaptured clicks arrive as track calls with this name (see ingest/snippet). */
const CLICK_EVENT_NAME = '$click'

/**
 * A Segment Spec call (track, page, screen, identify) → ClickEvent. `callType` is the endpoint's
 * type for single calls, undefined for batch items (which carry their own `type`).
 */
export function normaliseSegmentCall(message: unknown, index: number, context: RequestContext, callType?: CallType): Normalised<ClickEvent> {
  const read = new FieldReader(index, callType ? '' : `/batch/${index}`)
  if (!isObject(message)) {
    read.fail('', 'must be an object')
    return { ok: false, errors: read.errors }
  }
  const type = callType ?? read.oneOf(read.string(message, 'type'), CALL_TYPES, 'type')

  const userId = read.identifier(message, 'userId')
  const anonymousId = read.identifier(message, 'anonymousId')
  const messageContext = read.object(message, 'context')
  // Cookieless clients store no id: the server derives a daily-rotating visitor hash instead.
  const cookieless = messageContext.cookieless === true && context.visitor !== undefined
  if (!userId && !anonymousId && !cookieless) read.fail('anonymousId', 'userId or anonymousId is required')

  const properties = read.object(message, type === 'identify' ? 'traits' : 'properties')
  const page = isObject(messageContext.page) ? messageContext.page : {}
  const campaign = isObject(messageContext.campaign) ? messageContext.campaign : {}
  const screen = isObject(messageContext.screen) ? messageContext.screen : {}
  const location = isObject(messageContext.location) ? messageContext.location : {}

  let name = ''
  if (type === 'track') {
    name = read.string(message, 'event', 'event', MAX_NAME_LENGTH)
    if (!name) read.fail('event', 'is required for track calls')
  } else if (type === 'page' || type === 'screen') {
    name = read.string(message, 'name', 'name', MAX_NAME_LENGTH)
  }

  const timestamp = readTime(message.timestamp ?? message.originalTimestamp)
  if (Number.isNaN(timestamp)) read.fail('timestamp', 'must be an ISO 8601 date-time or epoch milliseconds')
  const messageSentAt = readTime(message.sentAt)
  if (Number.isNaN(messageSentAt)) read.fail('sentAt', 'must be an ISO 8601 date-time or epoch milliseconds')
  const ts = correctClockSkew(timestamp, messageSentAt ?? context.sentAt, context.receivedAt)
  if (!Number.isNaN(ts)) {
    const problem = timeProblem(ts, context.receivedAt, context.bounds)
    if (problem) read.fail('timestamp', problem)
  }

  const userAgent = typeof messageContext.userAgent === 'string' ? messageContext.userAgent : context.userAgent
  const archived = readArchivedClient(read, messageContext, userAgent !== '')

  if (read.errors.length > 0 || !type) return { ok: false, errors: read.errors }

  const url = pick(properties.url, page.url)
  const location_ = parsePageUrl(url, pick(properties.path, page.path))
  const referrer = pick(properties.referrer, page.referrer)
  const client = archived ?? context.userAgents.parse(userAgent)
  const sessionId = pick(messageContext.sessionId, message.sessionId, (properties as Json).session_id)
  const country = typeof location.country === 'string' && /^[A-Za-z]{2}$/.test(location.country) ? location.country.toUpperCase() : context.country
  const visitorHash = cookieless ? context.visitor!(referrerDomain(location_.url)) : null

  return {
    ok: true,
    event: {
      event_id: eventIdFor(context.projectId, message.messageId),
      project_id: context.projectId,
      type: type === 'track' && name === CLICK_EVENT_NAME ? 'click' : EVENT_TYPE[type],
      name,
      ts,
      received_at: context.receivedAt,
      anonymous_id: anonymousId || visitorHash || userId,
      user_id: userId || null,
      session_id: sessionId,
      url: location_.url,
      path: type === 'page' || type === 'screen' || url ? location_.path : '',
      title: pick(properties.title, page.title),
      referrer,
      referrer_domain: referrerDomain(referrer),
      utm_source: pick(campaign.source) || location_.utm.source,
      utm_medium: pick(campaign.medium) || location_.utm.medium,
      utm_campaign: pick(campaign.name, campaign.campaign) || location_.utm.campaign,
      utm_term: pick(campaign.term) || location_.utm.term,
      utm_content: pick(campaign.content) || location_.utm.content,
      browser: client.browser,
      os: client.os,
      device_type: client.deviceType,
      country,
      screen: typeof screen.width === 'number' && typeof screen.height === 'number' ? `${screen.width}x${screen.height}` : '',
      locale: pick(messageContext.locale),
      properties: stringMap(properties),
      visitor_hash: visitorHash ?? archived?.visitorHash ?? null,
    },
  }
}

/** The first non-empty string among the candidates (fixed arity: no array per call on the hot path). */
function pick(first: unknown, second?: unknown, third?: unknown): string {
  if (typeof first === 'string' && first !== '') return first
  if (typeof second === 'string' && second !== '') return second
  if (typeof third === 'string' && third !== '') return third
  return ''
}
