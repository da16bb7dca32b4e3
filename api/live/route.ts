import websocket from '@fastify/websocket'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { RawData, WebSocket } from 'ws'
import { bearerToken, type KeyRing } from '../../core/auth/keys.ts'
import { ProblemError } from '../../core/http/problem.ts'
import type { AuthFailureThrottle } from '../../core/http/auth-throttle.ts'
import { API_PROBLEMS } from '../errors.ts'
import type { LiveClient } from './client.ts'
import { CLOSE, parseClientMessage, type ClientMessage } from './protocol.ts'
import type { LiveService } from './service.ts'

export interface LiveRouteOptions {
  readonly keys: KeyRing
  readonly service: LiveService
  /** How long a connection without a key may wait before its auth message (default 5 s). */
  readonly authTimeoutMs?: number
  /**
   * Charges a wrong auth message to the client's address as the api's 401s are; once refused, the
   * address's auth messages are closed with 4429 before the key is looked at.
   */
  readonly authThrottle?: AuthFailureThrottle
}

const LiveQuery = Type.Object({
  key: Type.Optional(Type.String({ description: 'Read key, for clients that cannot set headers (it then appears in access logs: prefer the auth message).' })),
}, { additionalProperties: false })

/**
 * GET /api/v1/live, a WebSocket. The read key comes as `Authorization: Bearer` (servers), `?key=`
 * or, from browsers, which cannot set headers on a WebSocket, as the first message
 * `{"type":"auth","key":…}` — which keeps the key out of URLs and so out of proxy logs. A key
 * given on the upgrade is checked before upgrading (401); one given in a message after (close 4401).
 */
export async function liveRoutes(app: FastifyInstance, options: LiveRouteOptions): Promise<void> {
  await app.register(websocket, { options: { maxPayload: 16 * 1024 } })
  const { keys, service } = options
  const keyOf = (authorization: string | undefined, query: Static<typeof LiveQuery>) => bearerToken(authorization) ?? query.key

  app.get<{ Querystring: Static<typeof LiveQuery> }>('/api/v1/live', {
    websocket: true,
    schema: { querystring: LiveQuery },
    preValidation: async (request) => {
      const key = keyOf(request.headers.authorization, request.query)
      if (key !== undefined && keys.projectFor(key, 'read') === undefined) {
        throw new ProblemError(API_PROBLEMS.API_UNAUTHORIZED, 'the key is not a read key of any project', undefined, { 'www-authenticate': 'Bearer' })
      }
    },
  }, (socket, request) => {
    const key = keyOf(request.headers.authorization, request.query)
    let client: LiveClient | undefined = key === undefined ? undefined : service.attach(socket, keys.projectFor(key, 'read')!)
    const authTimer = client === undefined
      ? setTimeout(() => socket.close(CLOSE.unauthorized, 'send {"type":"auth","key":"<read key>"} first'), options.authTimeoutMs ?? 5_000)
      : undefined
    socket.on('close', () => clearTimeout(authTimer))
    socket.on('message', (data: RawData, isBinary: boolean) => {
      const parsed = isBinary ? { ok: false as const, error: 'send text frames' } : parseClientMessage(data.toString())
      if (!parsed.ok) {
        if (client === undefined) socket.close(CLOSE.unauthorized, 'the first message must be {"type":"auth","key":…}')
        else client.sendJson({ type: 'error', error: parsed.error })
        return
      }
      const message = parsed.message
      if (client === undefined) {
        clearTimeout(authTimer)
        if (message.type !== 'auth') return void socket.close(CLOSE.unauthorized, 'the first message must be {"type":"auth","key":…}')
        const throttle = options.authThrottle
        const address = throttle?.addressOf(request)
        const refusedMs = throttle ? throttle.refusedForMs(address!) : 0
        if (refusedMs > 0) return void socket.close(CLOSE.authThrottled, `too many failed authentications from this address; retry in ${Math.ceil(refusedMs / 1000)} s`)
        const projectId = keys.projectFor(message.key, 'read')
        if (projectId === undefined) {
          // Closed once the failure is charged, so a client retrying at once meets the verdict.
          const close = (refusedMs: number) => refusedMs > 0
            ? socket.close(CLOSE.authThrottled, `too many failed authentications from this address; retry in ${Math.ceil(refusedMs / 1000)} s`)
            : socket.close(CLOSE.unauthorized, 'the key is not a read key of any project')
          if (throttle) void throttle.failed(address!).catch(() => 0).then(close)
          else close(0)
          return
        }
        client = service.attach(socket, projectId)
        return
      }
      handle(service, client, socket, message)
    })
  })
}

function handle(service: LiveService, client: LiveClient, socket: WebSocket, message: ClientMessage): void {
  switch (message.type) {
    case 'auth':
      client.sendJson({ type: 'error', error: 'already authenticated' })
      return
    case 'subscribe':
      void service.subscribe(client, message.channel, message.filter, message.since)
      return
    case 'unsubscribe':
      service.unsubscribe(client, message.channel)
      return
    case 'ping':
      if (socket.readyState === 1) client.sendJson({ type: 'pong', at: Date.now() })
  }
}
