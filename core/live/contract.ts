/**
 * The LiveHub contract, against port.ts only. Two hubs share the fan-out: two Redis connection
 * pairs, as two api instances have, or the same in-process hub twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LiveHub } from './port.ts'

export interface LiveHubsUnderTest {
  readonly hubs: readonly [LiveHub, LiveHub]
  cleanup(): Promise<void>
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Long enough that a test rarely straddles two windows; assertions hold even when one does. */
const WINDOW_MS = 60_000

export function liveHubContract(name: string, make: () => Promise<LiveHubsUnderTest>): void {
  describe(`LiveHub contract: ${name}`, () => {
    let subject: LiveHubsUnderTest
    let a: LiveHub
    let b: LiveHub
    let channel: string

    beforeEach(async () => {
      subject = await make()
      ;[a, b] = subject.hubs
      channel = `feed-${Math.random().toString(36).slice(2)}`
    })
    afterEach(() => subject.cleanup())

    it('delivers a published message to subscribers on every instance, as a JSON copy', async () => {
      const onA: unknown[] = []
      const onB: unknown[] = []
      await Promise.all([a.subscribe(channel, (message) => onA.push(message)).ready, b.subscribe(channel, (message) => onB.push(message)).ready])
      const message = { path: '/pricing', at: 1 }
      expect(await a.publish(channel, message)).toBe(true)
      await waitFor(() => onA.length === 1 && onB.length === 1, 'both subscribers')
      expect(onB[0]).toEqual(message)
      expect(onA[0]).not.toBe(message)
    })

    it('keeps channels apart and stops delivering after unsubscribe', async () => {
      const kept: unknown[] = []
      const dropped: unknown[] = []
      const other: unknown[] = []
      await b.subscribe(channel, (message) => kept.push(message)).ready
      const unsubscribe = b.subscribe(channel, (message) => dropped.push(message))
      await unsubscribe.ready
      await b.subscribe(`${channel}-other`, (message) => other.push(message)).ready
      await a.publish(channel, 1)
      await waitFor(() => kept.length === 1 && dropped.length === 1, 'first message')
      unsubscribe()
      await a.publish(channel, 2)
      await waitFor(() => kept.length === 2, 'second message')
      expect(dropped).toEqual([1])
      expect(other).toEqual([])
    })

    it('keeps delivering to other handlers when one throws', async () => {
      const received: unknown[] = []
      await b.subscribe(channel, () => {
        throw new Error('broken socket')
      }).ready
      await b.subscribe(channel, (message) => received.push(message)).ready
      await a.publish(channel, 'x')
      await a.publish(channel, 'y')
      await waitFor(() => received.length === 2, 'messages past the failing handler')
    })

    it('counts per window across instances, oldest window first', async () => {
      const counter = `pageviews-${channel}`
      expect(await a.incrementCounter(counter, 3, WINDOW_MS)).toBe(true)
      expect(await b.incrementCounter(counter, 4, WINDOW_MS)).toBe(true)
      const windows = await a.readCounter(counter, WINDOW_MS, 3)
      expect(windows).toHaveLength(3)
      expect(windows.reduce((sum, window) => sum + window.count, 0)).toBe(7)
      expect(windows[0]!.count).toBe(0)
      for (const [i, window] of windows.entries()) {
        expect(window.start % WINDOW_MS).toBe(0)
        if (i > 0) expect(window.start - windows[i - 1]!.start).toBe(WINDOW_MS)
      }
      expect(await b.readCounter(counter, WINDOW_MS)).toHaveLength(1)
      const unknown = await b.readCounter(`never-${channel}`, WINDOW_MS, 2)
      expect(unknown.map((window) => window.count)).toEqual([0, 0])
    })

    it('refuses counter arguments it cannot honour', async () => {
      await expect(a.readCounter('c', 0)).rejects.toThrow(/window/)
      await expect(a.readCounter('c', 1_000, 10_000)).rejects.toThrow(/windows/)
      await expect(a.incrementCounter('c', 0.5, 1_000)).rejects.toThrow(/whole numbers/)
    })
  })
}
