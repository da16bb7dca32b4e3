/**
 * The /api/v1/live protocol (docs/api.md, Live). Every message is one JSON text frame.
 * Client → server: auth, subscribe, unsubscribe, ping. Server → client: hello, subscribed,
 * unsubscribed, history, data, unavailable, error, pong.
 */
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

export const COUNTER_CHANNELS = ['pageviews', 'logs', 'notifications'] as const
export const CHANNELS = [...COUNTER_CHANNELS, 'visitors', 'health', 'tail'] as const
export type Channel = (typeof CHANNELS)[number]
export type CounterChannel = (typeof COUNTER_CHANNELS)[number]

/** Close codes; 4000-4999 are the application's (RFC 6455 §7.4.2). */
export const CLOSE = {
  /** No valid read key: bad `Authorization`/`key`, a wrong auth message, or none within the auth timeout. */
  unauthorized: 4401,
  /** Too many failed authentications from this address (as HTTP 429): wait the seconds the reason gives. */
  authThrottled: 4429,
  /** The client read too slowly: its send buffer passed the bound. Reconnect and resume. */
  tooSlow: 4008,
  /** The server is shutting down (RFC 6455 "going away"). */
  goingAway: 1001,
} as const

const Literal = <T extends string>(value: T) => Type.Literal(value)

export const TailFilter = Type.Object({
  stream: Type.Optional(Type.Union([Literal('click'), Literal('log'), Literal('notification')])),
  /** Logs at this level or above (trace < debug < info < warn < error < fatal). */
  minLevel: Type.Optional(Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map(Literal))),
  /** Clicks whose path starts with this. */
  pathPrefix: Type.Optional(Type.String({ maxLength: 512 })),
  service: Type.Optional(Type.String({ maxLength: 256 })),
  status: Type.Optional(Type.String({ maxLength: 32 })),
}, { additionalProperties: false })
export type TailFilter = Static<typeof TailFilter>

export const ClientMessage = Type.Union([
  Type.Object({ type: Literal('auth'), key: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
  Type.Object({
    type: Literal('subscribe'),
    channel: Type.Union(CHANNELS.map(Literal)),
    filter: Type.Optional(TailFilter),
    /**
     * Resume point. Counter channels: the `seq` (window start, ms) last seen; the history from
     * there is sent (at most 60 s). Tail: `{ instance, seq }` from the last tail message; events
     * after it are replayed if this instance still holds them.
     */
    since: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Object({ instance: Type.String({ maxLength: 64 }), seq: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })])),
  }, { additionalProperties: false }),
  Type.Object({ type: Literal('unsubscribe'), channel: Type.Union(CHANNELS.map(Literal)) }, { additionalProperties: false }),
  Type.Object({ type: Literal('ping') }, { additionalProperties: false }),
])
export type ClientMessage = Static<typeof ClientMessage>

const checker = TypeCompiler.Compile(ClientMessage)

/** The message, or a reason it is not one. */
export function parseClientMessage(text: string): { ok: true; message: ClientMessage } | { ok: false; error: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, error: 'not JSON' }
  }
  if (checker.Check(value)) return { ok: true, message: value }
  const first = checker.Errors(value).First()
  return { ok: false, error: first ? `${first.path || '/'}: ${first.message}` : 'not a message' }
}
