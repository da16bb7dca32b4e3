import type { Redis } from 'ioredis'
import { closeRedis, connectRedis, isReady, waitUntilReady, type RedisConnectionOptions } from '../redis/connect.ts'
import { checkCounterArguments, checkIncrement, COUNTER_RETAINED_WINDOWS, jsonCopy, LiveUnavailableError, type CounterWindow, type LiveHandler, type LiveHub, type Unsubscribe } from './port.ts'

/**
 * A counter is one hash per (name, window size), one field per window index, so every key a script
 * touches is declared. Windows come from Redis TIME: instances with skewed clocks count into the
 * same window. The first increment of a window trims fields that fell out of retention; the hash
 * expires as a whole once nobody has counted for the retention period.
 * KEYS counter; ARGV by, window ms, retained windows.
 */
const INCREMENT_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local window = tonumber(ARGV[2])
local retained = tonumber(ARGV[3])
local index = math.floor((tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)) / window)
local field = tostring(index)
if redis.call('HEXISTS', KEYS[1], field) == 0 then
  for _, old in ipairs(redis.call('HKEYS', KEYS[1])) do
    if tonumber(old) <= index - retained then redis.call('HDEL', KEYS[1], old) end
  end
end
redis.call('HINCRBY', KEYS[1], field, ARGV[1])
redis.call('PEXPIRE', KEYS[1], window * retained)
return 1
`

/** KEYS counter; ARGV window ms, windows. Returns {current index, count of oldest, ..., count of current}. */
const READ_LUA = `
local time = redis.call('TIME')
local window = tonumber(ARGV[1])
local windows = tonumber(ARGV[2])
local index = math.floor((tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)) / window)
local fields = {}
for offset = windows - 1, 0, -1 do fields[#fields + 1] = tostring(index - offset) end
local counts = redis.call('HMGET', KEYS[1], unpack(fields))
local reply = {index}
for i = 1, #counts do reply[#reply + 1] = tonumber(counts[i]) or 0 end
return reply
`

interface LiveClient extends Redis {
  eddyIncrementCounter(key: string, by: number, windowMs: number, retained: number): Promise<number>
  eddyReadCounter(key: string, windowMs: number, windows: number): Promise<number[]>
}

export interface RedisLiveHubOptions {
  /** Key prefix, e.g. 'eddy:'; channels are `<prefix>live:<channel>`, counters `<prefix>counter:<name>:<window ms>`. */
  readonly prefix: string
  readonly connection: Omit<RedisConnectionOptions, 'name'>
  readonly onHandlerError?: (error: unknown, channel: string) => void
}

export interface RedisLiveHub extends LiveHub {
  /** Whether both connections are up within `timeoutMs`; until then publishes report false. */
  ready(timeoutMs: number): Promise<boolean>
}

interface Channel {
  readonly handlers: Set<LiveHandler>
  readonly subscribed: Promise<void>
  markSubscribed(): void
}

export function createRedisLiveHub(url: string, options: RedisLiveHubOptions): RedisLiveHub {
  const client = connectRedis(url, { ...options.connection, name: 'live' }) as LiveClient
  client.defineCommand('eddyIncrementCounter', { numberOfKeys: 1, lua: INCREMENT_LUA })
  client.defineCommand('eddyReadCounter', { numberOfKeys: 1, lua: READ_LUA })
  // A connection in subscriber mode can do nothing else, hence a second one.
  const subscriber = connectRedis(url, { ...options.connection, name: 'live-subscriber' })
  const channelPrefix = `${options.prefix}live:`
  const channels = new Map<string, Channel>()

  function subscribeOnRedis(names: readonly string[]): void {
    if (names.length === 0 || !isReady(subscriber)) return
    // Marks only the channels asked for: one unsubscribed and created again meanwhile is ready
    // only when its own SUBSCRIBE, queued behind the UNSUBSCRIBE, is answered.
    const asked = names.map((name) => channels.get(name))
    subscriber.subscribe(...names.map((name) => channelPrefix + name)).then(
      () => asked.forEach((channel, i) => channel !== undefined && channels.get(names[i]!) === channel && channel.markSubscribed()),
      // Redis went away meanwhile: the next 'ready' subscribes again.
      () => undefined,
    )
  }

  // Every (re)connection starts without subscriptions; this is what restores them after an outage.
  subscriber.on('ready', () => subscribeOnRedis([...channels.keys()]))
  subscriber.on('message', (fullName: string, json: string) => {
    const name = fullName.slice(channelPrefix.length)
    const channel = channels.get(name)
    if (channel === undefined) return
    for (const handler of [...channel.handlers]) {
      try {
        handler(JSON.parse(json))
      } catch (error) {
        options.onHandlerError?.(error, name)
      }
    }
  })

  const counterKey = (name: string, windowMs: number) => `${options.prefix}counter:${name}:${windowMs}`

  return {
    async ready(timeoutMs) {
      const [main, sub] = await Promise.all([waitUntilReady(client, timeoutMs), waitUntilReady(subscriber, timeoutMs)])
      return main && sub
    },

    async publish(channel, message) {
      const json = jsonCopy(message)
      try {
        await client.publish(channelPrefix + channel, json)
        return true
      } catch {
        return false
      }
    },

    subscribe(name, handler): Unsubscribe {
      let channel = channels.get(name)
      if (channel === undefined) {
        let markSubscribed = () => {}
        const subscribed = new Promise<void>((resolve) => (markSubscribed = resolve))
        channel = { handlers: new Set(), subscribed, markSubscribed }
        channels.set(name, channel)
        subscribeOnRedis([name])
      }
      const own = channel
      own.handlers.add(handler)
      const unsubscribe = () => {
        own.handlers.delete(handler)
        if (own.handlers.size > 0 || channels.get(name) !== own) return
        channels.delete(name)
        if (isReady(subscriber)) subscriber.unsubscribe(channelPrefix + name).catch(() => undefined)
      }
      return Object.assign(unsubscribe, { ready: own.subscribed })
    },

    async incrementCounter(name, by, windowMs) {
      checkCounterArguments(windowMs)
      checkIncrement(by)
      try {
        await client.eddyIncrementCounter(counterKey(name, windowMs), by, windowMs, COUNTER_RETAINED_WINDOWS)
        return true
      } catch {
        return false
      }
    },

    async readCounter(name, windowMs, count): Promise<readonly CounterWindow[]> {
      const windows = checkCounterArguments(windowMs, count)
      let reply: number[]
      try {
        reply = await client.eddyReadCounter(counterKey(name, windowMs), windowMs, windows)
      } catch (error) {
        throw new LiveUnavailableError(error)
      }
      const [current, ...counts] = reply
      return counts.map((value, offset) => ({ start: (current! - windows + 1 + offset) * windowMs, count: value }))
    },

    async close() {
      channels.clear()
      await Promise.all([closeRedis(client), closeRedis(subscriber)])
    },
  }
}
