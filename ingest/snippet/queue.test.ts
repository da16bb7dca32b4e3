import { describe, expect, it } from 'vitest'
import { backoff, createQueue, type Item, type Message, type Storage, type Transport } from './src/queue.ts'

/** A virtual clock: timers fire only when the test advances time. */
class VirtualTimer {
  now = 1_000_000
  private timers: Array<{ at: number; callback: () => void }> = []

  setTimer = (callback: () => void, ms: number) => {
    this.timers.push({ at: this.now + ms, callback })
  }

  async advance(ms: number): Promise<void> {
    const end = this.now + ms
    for (;;) {
      await settle()
      this.timers.sort((a, b) => a.at - b.at)
      const next = this.timers[0]
      if (!next || next.at > end) break
      this.timers.shift()
      this.now = next.at
      next.callback()
    }
    this.now = end
    await settle()
  }
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

const memory = (): Storage & { items: Item[] } => {
  const store = { items: [] as Item[], get: () => JSON.parse(JSON.stringify(store.items)) as Item[], set: (items: Item[]) => void (store.items = JSON.parse(JSON.stringify(items))) }
  return store
}

interface Sent { ids: string[]; sentAt: number; unloading?: boolean }

/** A server whose answers the test scripts: a list of statuses, then 202 for ever. */
function server(timer: VirtualTimer, answers: Array<[number, string?]> = []) {
  const sent: Sent[] = []
  const send: Transport = async (body, unloading) => {
    const parsed = JSON.parse(body) as { batch: Message[]; sentAt: number }
    sent.push({ ids: parsed.batch.map((m) => m.messageId), sentAt: parsed.sentAt, unloading })
    return answers.shift() ?? [202]
  }
  return { sent, send, body: (batch: Message[], sentAt: number) => JSON.stringify({ batch, sentAt }), timer }
}

const message = (id: number | string): Message => ({ messageId: `m${id}`, type: 'track', event: 'x' })

function setup(answers: Array<[number, string?]> = [], options: { batch?: number; max?: number; storage?: ReturnType<typeof memory>; timer?: VirtualTimer; beacon?: (body: string) => boolean } = {}) {
  const timer = options.timer ?? new VirtualTimer()
  const storage = options.storage ?? memory()
  const remote = server(timer, answers)
  const queue = createQueue({ storage, send: remote.send, body: remote.body, now: () => timer.now, setTimer: timer.setTimer, random: () => 1, batch: options.batch ?? 3, max: options.max, beacon: options.beacon })
  return { timer, storage, queue, sent: remote.sent }
}

describe('batching', () => {
  it('sends a full batch at once and a partial one after the delay', async () => {
    const { timer, queue, sent } = setup()
    for (const id of [1, 2, 3, 4]) queue.push(message(id))
    await timer.advance(0)
    expect(sent.map((s) => s.ids)).toEqual([['m1', 'm2', 'm3']])
    await timer.advance(999)
    expect(sent).toHaveLength(1)
    await timer.advance(1)
    expect(sent.map((s) => s.ids)).toEqual([['m1', 'm2', 'm3'], ['m4']])
  })

  it('stamps sentAt when the request leaves, so the server can correct the client clock', async () => {
    const { timer, queue, sent } = setup([[503]])
    queue.push(message(1))
    await timer.advance(1_000)
    await timer.advance(5_000)
    expect(sent.map((s) => s.sentAt)).toEqual([1_001_000, 1_002_000])
  })

  it('keeps at most `max` events, dropping the oldest', async () => {
    const { storage, queue } = setup([], { batch: 100, max: 3 })
    for (const id of [1, 2, 3, 4, 5]) queue.push(message(id))
    expect(storage.items.map((item) => item.e.messageId)).toEqual(['m3', 'm4', 'm5'])
  })
})

describe('retries', () => {
  it('retries 5xx, 429, 408 and network errors with exponential backoff, same ids each time, then delivers once', async () => {
    const { timer, queue, sent, storage } = setup([[500], [429], [0], [408]])
    queue.push(message(1))
    await timer.advance(1_000) // first attempt at +1 s
    // random() = 1: the full bound each time: 1 s, 2 s, 4 s, 8 s.
    for (const wait of [1_000, 2_000, 4_000, 8_000]) {
      const before = sent.length
      await timer.advance(wait - 1)
      expect(sent).toHaveLength(before)
      await timer.advance(1)
      expect(sent).toHaveLength(before + 1)
    }
    expect(sent.map((s) => s.ids)).toEqual(Array(5).fill(['m1']))
    expect(storage.items).toEqual([])
    await timer.advance(120_000)
    expect(sent).toHaveLength(5)
  })

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const { timer, queue, sent } = setup([[503, '30'], [503, new Date(1_000_000 + 1_000 + 30_000 + 90_000).toUTCString()]])
    queue.push(message(1))
    await timer.advance(1_000)
    await timer.advance(29_999)
    expect(sent).toHaveLength(1)
    await timer.advance(1)
    expect(sent).toHaveLength(2)
    await timer.advance(89_000)
    expect(sent).toHaveLength(2)
    await timer.advance(1_000)
    expect(sent).toHaveLength(3)
  })

  it('sends nothing while backing off, not even events queued since; then everything due', async () => {
    const { timer, queue, sent } = setup([[503, '20']], { batch: 10 })
    queue.push(message(1))
    await timer.advance(1_000)
    queue.push(message(2))
    await timer.advance(19_999)
    expect(sent).toHaveLength(1)
    await timer.advance(1)
    expect(sent.map((s) => s.ids)).toEqual([['m1'], ['m1', 'm2']])
  })

  it('an event queued while a send is in flight goes out after it', async () => {
    const timer = new VirtualTimer()
    let answer: ((value: [number]) => void) | undefined
    const sent: string[][] = []
    const queue = createQueue({
      storage: memory(), body: (batch) => JSON.stringify(batch.map((m) => m.messageId)), now: () => timer.now, setTimer: timer.setTimer,
      send: (body) => (sent.push(JSON.parse(body)), new Promise((resolve) => (answer = resolve))),
    })
    queue.push(message(1))
    await timer.advance(1_000)
    queue.push(message(2))
    await timer.advance(5_000) // its timer fired while m1 was in flight
    answer!([202])
    await timer.advance(1_000)
    expect(sent).toEqual([['m1'], ['m2']])
  })

  it('drops a batch the server refuses for good (4xx other than 408/429)', async () => {
    const { timer, queue, sent, storage } = setup([[400]])
    queue.push(message(1))
    await timer.advance(1_000)
    expect(storage.items).toEqual([])
    await timer.advance(60_000)
    expect(sent).toHaveLength(1)
  })

  it('backoff is full jitter under an exponential cap of 60 s', () => {
    expect(backoff(0, null, () => 0.5, 0)).toBe(500)
    expect(backoff(3, null, () => 0.25, 0)).toBe(2_000)
    expect(backoff(20, null, () => 1, 0)).toBe(60_000)
    expect(backoff(0, '120', () => 1, 0)).toBe(120_000)
    expect(backoff(0, 'garbage', () => 1, 0)).toBe(1_000)
  })

  it('coming back online sends at once instead of waiting out the backoff', async () => {
    const { timer, queue, sent } = setup([[0], [0], [0]])
    queue.push(message(1))
    await timer.advance(1_000 + 1_000 + 2_000)
    expect(sent).toHaveLength(3)
    queue.online()
    await timer.advance(0)
    expect(sent).toHaveLength(4)
  })
})

describe('unload', () => {
  it('hands everything to the beacon, in batches, and forgets it', async () => {
    const beacons: string[] = []
    const storage = memory()
    storage.set([1, 2, 3, 4, 5].map((id) => ({ e: message(id), l: id === 5 ? 1_000_000 + 30_000 : 0 })))
    const { timer, queue, sent } = setup([], { storage, beacon: (body) => (beacons.push(body), true) })
    queue.unload()
    expect(beacons.map((body) => JSON.parse(body).batch.map((m: Message) => m.messageId))).toEqual([['m1', 'm2', 'm3'], ['m4']])
    // m5 is in flight (leased): its own request carries it.
    expect(storage.items.map((item) => item.e.messageId)).toEqual(['m5'])
    await queue.flush()
    await timer.advance(30_000)
    expect(sent.flatMap((s) => s.ids)).toEqual(['m5'])
  })

  it('falls back to a keepalive request when the beacon is refused, keeping the events until it answers', async () => {
    const { timer, queue, sent, storage } = setup([[503]], { batch: 10, beacon: () => false })
    queue.push(message(1))
    queue.unload()
    expect(sent).toEqual([{ ids: ['m1'], sentAt: 1_000_000, unloading: true }])
    expect(storage.items).toHaveLength(1)
    await timer.advance(1_000)
    expect(sent).toHaveLength(2)
    expect(storage.items).toEqual([])
  })
})

describe('shared storage (tabs of one site, or a reload)', () => {
  it('two queues on one storage never send an event twice while a send is in flight', async () => {
    const timer = new VirtualTimer()
    const storage = memory()
    let release: (() => void) | undefined
    const sent: string[][] = []
    const send: Transport = async (body) => {
      sent.push((JSON.parse(body) as { batch: Message[] }).batch.map((m) => m.messageId))
      if (!release) await new Promise<void>((resolve) => (release = resolve))
      return [202]
    }
    const options = { storage, send, body: (batch: Message[]) => JSON.stringify({ batch }), now: () => timer.now, setTimer: timer.setTimer, random: () => 1, batch: 10 }
    const tabA = createQueue(options)
    const tabB = createQueue(options)
    tabA.push(message(1))
    await timer.advance(1_000) // tab A's send is in flight, not answered
    tabB.push(message(2))
    await timer.advance(1_000) // tab B sends only what is not leased
    release!()
    await timer.advance(1_000)
    expect(sent).toEqual([['m1'], ['m2']])
    expect(storage.items).toEqual([])
  })

  it('a new page sends what the last one left (closed mid-send: once its lease lapsed)', async () => {
    const storage = memory()
    storage.set([{ e: message('queued'), l: 0 }, { e: message('in-flight'), l: 1_000_000 + 30_000 }])
    const { timer, queue, sent } = setup([], { storage, batch: 10 })
    await queue.flush()
    expect(sent.map((s) => s.ids)).toEqual([['mqueued']])
    await timer.advance(30_000)
    expect(sent.map((s) => s.ids)).toEqual([['mqueued'], ['min-flight']])
  })
})
