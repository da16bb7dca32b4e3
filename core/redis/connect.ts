import { Redis } from 'ioredis'
import type { Logger } from '../logging/logger.ts'

export interface RedisConnectionOptions {
  /** Shown in CLIENT LIST (`eddy-<name>`), so an operator can tell Eddy's connections apart. */
  readonly name: string
  /** A reply slower than this fails the command; callers then apply their own fallback. */
  readonly commandTimeoutMs?: number
  readonly connectTimeoutMs?: number
  /** How often an in-flight command is resent after a reconnect before it fails. */
  readonly maxRetriesPerRequest?: number
  /** Upper bound of the reconnect backoff; reconnecting itself never stops. */
  readonly maxReconnectDelayMs?: number
  readonly logger?: Logger
}

export const REDIS_DEFAULTS = Object.freeze({
  commandTimeoutMs: 500,
  connectTimeoutMs: 2_000,
  maxRetriesPerRequest: 1,
  maxReconnectDelayMs: 2_000,
})

/**
 * One ioredis client with the options every Eddy adapter wants: Redis is an accelerator, never a
 * dependency a request may wait on. The offline queue is off, so a command issued while the
 * connection is down fails at once instead of queueing behind a reconnect that may take minutes;
 * the client connects eagerly (lazyConnect would make the very first commands fail for the same
 * reason) and reconnects forever with capped backoff, so adapters recover without being rebuilt.
 */
export function connectRedis(url: string, options: RedisConnectionOptions): Redis {
  const settings = { ...REDIS_DEFAULTS, ...definedOnly(options) }
  const client = new Redis(url, {
    connectionName: `eddy-${options.name}`,
    lazyConnect: false,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    // Subscribers resubscribe themselves on 'ready' (core/live/redis.ts): ioredis only restores
    // channels whose SUBSCRIBE once succeeded, and one issued while Redis was down never did.
    autoResubscribe: false,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    maxRetriesPerRequest: settings.maxRetriesPerRequest,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), settings.maxReconnectDelayMs),
  })
  watchAvailability(client, options)
  return client
}

/** Whether the client can take commands now; with the offline queue off, anything else fails fast. */
export function isReady(client: Redis): boolean {
  return client.status === 'ready'
}

/** Resolves when the client is ready or after `timeoutMs`, whichever comes first; never rejects. */
export function waitUntilReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (isReady(client)) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), timeoutMs)
    const onReady = () => done(true)
    function done(ready: boolean) {
      clearTimeout(timer)
      client.off('ready', onReady)
      resolve(ready)
    }
    client.on('ready', onReady)
  })
}

/** Closes without waiting for replies that may never come: a stopped Redis must not hang shutdown. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return
  if (!isReady(client)) {
    client.disconnect()
    return
  }
  await client.quit().catch(() => client.disconnect())
}

/**
 * ioredis emits 'error' on every failed reconnect; logging each would flood the log during an
 * outage, so only the transitions are logged. Without a listener Node would print them anyway.
 */
function watchAvailability(client: Redis, options: RedisConnectionOptions): void {
  let available = true
  client.on('error', (error: Error) => {
    if (!available) return
    available = false
    options.logger?.warn({ err: error, connection: options.name }, 'redis unavailable; falling back until it returns')
  })
  client.on('ready', () => {
    if (available) return
    available = true
    options.logger?.info({ connection: options.name }, 'redis available again')
  })
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>
}
