import type { Logger } from '../logging/logger.ts'
import { createMemoryLiveHub } from './memory.ts'
import type { LiveHub } from './port.ts'
import { createRedisLiveHub } from './redis.ts'

export type { CounterWindow, LiveHandler, LiveHub, Unsubscribe } from './port.ts'
export { LiveUnavailableError } from './port.ts'

export interface LiveHubOptions {
  /** Redis URL from the parsed config; undefined means a hub inside this process. */
  readonly redisUrl?: string
  readonly prefix?: string
  /** How long start-up waits for Redis; after that the service starts anyway (subscriptions follow when it comes). */
  readonly connectWaitMs?: number
  readonly logger?: Logger
}

export async function createLiveHub(options: LiveHubOptions = {}): Promise<LiveHub> {
  const onHandlerError = (error: unknown, channel: string) => options.logger?.error({ err: error, channel }, 'live handler failed')
  if (options.redisUrl === undefined) return createMemoryLiveHub({ onHandlerError })
  const hub = createRedisLiveHub(options.redisUrl, { prefix: options.prefix ?? 'eddy:', connection: { logger: options.logger }, onHandlerError })
  await hub.ready(options.connectWaitMs ?? 2_000)
  return hub
}
