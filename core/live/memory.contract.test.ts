import { expect, it } from 'vitest'
import { COUNTER_RETAINED_WINDOWS } from './port.ts'
import { liveHubContract } from './contract.ts'
import { createMemoryLiveHub } from './memory.ts'

liveHubContract('memory', async () => {
  const hub = createMemoryLiveHub()
  return { hubs: [hub, hub], cleanup: () => hub.close() }
})

it('moves counters into the next window as time passes, and forgets windows past retention', async () => {
  let now = 10_000
  const hub = createMemoryLiveHub({ clock: () => now })
  await hub.incrementCounter('views', 2, 1_000)
  now += 1_000
  await hub.incrementCounter('views', 5, 1_000)
  expect(await hub.readCounter('views', 1_000, 3)).toEqual([
    { start: 9_000, count: 0 },
    { start: 10_000, count: 2 },
    { start: 11_000, count: 5 },
  ])
  now += COUNTER_RETAINED_WINDOWS * 1_000
  await hub.incrementCounter('views', 1, 1_000)
  now -= COUNTER_RETAINED_WINDOWS * 1_000
  expect((await hub.readCounter('views', 1_000, 2)).map((window) => window.count)).toEqual([0, 0])
})

it('does not deliver a message published before subscribing', async () => {
  const hub = createMemoryLiveHub()
  const received: unknown[] = []
  await hub.publish('c', 'early')
  hub.subscribe('c', (message) => received.push(message))
  await new Promise((resolve) => setImmediate(resolve))
  expect(received).toEqual([])
})
