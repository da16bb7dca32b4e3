import { describe, expect, it } from 'vitest'
import { LIVE_WINDOW_MS, liveCounters, tailChannel, type TailBatch } from '../core/live/feed.ts'
import { createMemoryLiveHub } from '../core/live/memory.ts'
import type { LiveHub } from '../core/live/port.ts'
import type { ClickEvent, LogEvent } from '../schemas/types.generated.ts'
import { LiveFeed } from './live-feed.ts'

const click = (index: number, type: ClickEvent['type'] = 'pageview', projectId = 'shop') =>
  ({ event_id: `c${index}`, project_id: projectId, type, name: '', ts: 1, received_at: 2, path: `/p/${index}`, referrer_domain: 'example.org', country: null, browser: 'Firefox', device_type: 'desktop' }) as ClickEvent
const log = (index: number, level: LogEvent['level']) =>
  ({ event_id: `l${index}`, project_id: 'shop', ts: 1, received_at: 2, service: 'api', level, message: 'x'.repeat(500) }) as LogEvent

async function count(hub: LiveHub, name: string): Promise<number> {
  return (await hub.readCounter(name, LIVE_WINDOW_MS))[0]!.count
}

describe('LiveFeed', () => {
  it('counts accepted events per project into per-second counters, in one flush', async () => {
    const hub = createMemoryLiveHub()
    const feed = new LiveFeed({ hub, flushMs: 60_000 })
    feed.record('click', [click(1), click(2), click(3, 'custom'), click(4, 'pageview', 'blog')])
    feed.record('log', [log(1, 'error'), log(2, 'info'), log(3, 'error')])
    await feed.flush()
    expect(await count(hub, liveCounters.pageviews('shop'))).toBe(2)
    expect(await count(hub, liveCounters.pageviews('blog'))).toBe(1)
    expect(await count(hub, liveCounters.events('shop', 'click'))).toBe(3)
    expect(await count(hub, liveCounters.logLevel('shop', 'error'))).toBe(2)
    expect(await count(hub, liveCounters.logLevel('shop', 'info'))).toBe(1)
    await feed.close()
  })

  it('samples the tail within its per-second budget, spread over the batch, with fields trimmed', async () => {
    const hub = createMemoryLiveHub()
    let now = 0
    const feed = new LiveFeed({ hub, flushMs: 60_000, tailPerSecond: 10, clock: () => now })
    const batches: TailBatch[] = []
    const subscription = hub.subscribe(tailChannel('shop'), (message) => batches.push(message as TailBatch))
    await subscription.ready
    feed.record('click', Array.from({ length: 100 }, (_, index) => click(index)))
    feed.record('log', [log(1, 'warn')])
    now += 500
    feed.record('log', [log(2, 'warn'), log(3, 'warn'), log(4, 'warn'), log(5, 'warn'), log(6, 'warn'), log(7, 'warn')])
    await feed.flush()
    await new Promise((resolve) => setImmediate(resolve))
    const events = batches.flatMap((batch) => batch.events)
    expect(events.filter((event) => event.stream === 'click').map((event) => event.id)).toEqual(['c0', 'c10', 'c20', 'c30', 'c40', 'c50', 'c60', 'c70', 'c80', 'c90'])
    // Half a second refills half the budget.
    expect(events.filter((event) => event.stream === 'log')).toHaveLength(5)
    expect(events[0]).toEqual({ stream: 'click', id: 'c0', ts: 1, received: 2, type: 'pageview', name: '', path: '/p/0', referrer: 'example.org', country: '', browser: 'Firefox', device: 'desktop' })
    expect(events.find((event) => event.stream === 'log')!.message).toHaveLength(200)
    subscription()
    await feed.close()
  })

  it('never fails ingest when the hub cannot take the feed', async () => {
    const hub: LiveHub = { ...createMemoryLiveHub(), incrementCounter: async () => false, publish: async () => false }
    const feed = new LiveFeed({ hub, flushMs: 60_000 })
    feed.record('click', [click(1)])
    await expect(feed.flush()).resolves.toBeUndefined()
    await feed.close()
  })
})
