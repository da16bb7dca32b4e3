import { afterAll, expect, it } from 'vitest'
import { describeWithService } from '../../test/support/services.ts'
import { inspector, uniquePrefix } from '../redis/test-support.ts'
import { liveHubContract } from './contract.ts'
import { createRedisLiveHub } from './redis.ts'

describeWithService('redis', 'REDIS_URL', 'Redis live hub', (url) => {
  liveHubContract('redis', async () => {
    const prefix = uniquePrefix()
    const hubs = [createRedisLiveHub(url, { prefix, connection: {} }), createRedisLiveHub(url, { prefix, connection: {} })] as const
    await Promise.all(hubs.map((hub) => hub.ready(10_000)))
    return { hubs, cleanup: async () => void (await Promise.all(hubs.map((hub) => hub.close()))) }
  })

  const raw = inspector(url)
  afterAll(() => raw.quit())

  it('keeps a counter as one hash per window size that expires after the retention', async () => {
    const prefix = uniquePrefix()
    const hub = createRedisLiveHub(url, { prefix, connection: {} })
    try {
      await hub.ready(10_000)
      await hub.incrementCounter('views', 2, 1_000)
      const [window] = await hub.readCounter('views', 1_000)
      expect(await raw.hget(`${prefix}counter:views:1000`, String(window!.start / 1_000))).toBe('2')
      const ttl = await raw.pttl(`${prefix}counter:views:1000`)
      expect(ttl).toBeGreaterThan(100_000)
      expect(ttl).toBeLessThanOrEqual(120_000)
    } finally {
      await hub.close()
    }
  })

  it('publishes on <prefix>live:<channel>, so other tools can listen in', async () => {
    const prefix = uniquePrefix()
    const hub = createRedisLiveHub(url, { prefix, connection: {} })
    const listener = raw.duplicate()
    try {
      await hub.ready(10_000)
      const received = new Promise<string>((resolve) => listener.on('message', (_channel: string, message: string) => resolve(message)))
      await listener.subscribe(`${prefix}live:feed`)
      await hub.publish('feed', { n: 1 })
      expect(await received).toBe('{"n":1}')
    } finally {
      listener.disconnect()
      await hub.close()
    }
  })
})
