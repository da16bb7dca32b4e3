import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { NUMBER_BYTES, objectBytes } from '../state/heap-size.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { PartitionStateStore } from '../state/store.ts'
import { KeyedProcessOperator, type KeyedEmission } from './keyed-process.ts'
import { canonical } from './test-support.ts'

/** The notification lifecycle job's core: delivery latency, or "undelivered" after a timeout. */

interface Notification {
  readonly id: string
  readonly status: 'sent' | 'delivered'
  readonly time: number
}

type Outcome = { id: string; delivered: true; latencyMs: number } | { id: string; delivered: false; sentAt: number }

const TIMEOUT = 10 * 60_000

function lifecycle(store?: PartitionStateStore) {
  return new KeyedProcessOperator<Notification, { sentAt: number }, Outcome>({
    key: (notification) => notification.id,
    time: (notification) => notification.time,
    outOfOrdernessMs: 5_000,
    idleTimeoutMs: 60_000,
    processEvent(notification, context) {
      if (notification.status === 'sent') {
        if (context.state !== undefined) return // a duplicate send
        context.state = { sentAt: notification.time }
        context.setTimer('event', notification.time + TIMEOUT, 'undelivered')
        return
      }
      const state = context.state
      if (state === undefined) return // delivered after we already gave up, or never saw the send
      context.emit({ id: context.key, delivered: true, latencyMs: notification.time - state.sentAt })
      context.deleteTimer('event', state.sentAt + TIMEOUT, 'undelivered')
      context.state = undefined
    },
    onTimer(timer, context) {
      const state = context.state
      if (state === undefined) return
      context.emit({ id: timer.key, delivered: false, sentAt: state.sentAt })
      context.state = undefined
    },
    serializeState: (state, writer) => writer.f64(state.sentAt),
    deserializeState: (reader) => ({ sentAt: reader.f64() }),
    stateBytes: () => objectBytes(1) + NUMBER_BYTES,
  }, store === undefined ? undefined : { store, prefix: 'lifecycle/' })
}

/** What a checkpoint does: the snapshot, and the changes since the last one staged in the store. */
function checkpoint(operator: ReturnType<typeof lifecycle>, store: PartitionStateStore): Uint8Array {
  const entries = new Map<string, Uint8Array | null>()
  operator.changes(entries)
  const whole = operator.snapshot()
  store.stage({ nextOffset: 0, savedAt: 0, whole, entries })
  return whole
}

/**
 * EDKP format 1, written by f530421 (before states and timers moved to the store): this
 * file's lifecycle after n1 sent at 0 and n2 sent at 60 s, both timeouts pending.
 */
const LEGACY_SNAPSHOT = Buffer.from(
  'RURLUAEAAAAAANvqQAAAAAAAAAAAAAEAAAABAAAAMAAAAAAATO1AAAAAAAAAAAAAAgAAAAIAAABuMQgAAAAAAAAAAAAAAAIAAABuMggAAAAAAAAAAEztQAIAAAACAAAAbjEAAAAAAIBPIkELAAAAdW5kZWxpdmVyZWQCAAAAbjIAAAAAAEAkJEELAAAAdW5kZWxpdmVyZWQ=',
  'base64',
)

const outputs = (emissions: KeyedEmission<Notification, Outcome>[]) =>
  emissions.flatMap((emission) => (emission.kind === 'output' ? [emission.value] : []))

describe('keyed process function with timers', () => {
  it('reports delivery latency, and undelivered notifications once the watermark passes the timeout', () => {
    const operator = lifecycle()
    const minute = 60_000
    expect(
      outputs(
        operator.process(0, [
          { id: 'n1', status: 'sent', time: 0 },
          { id: 'n2', status: 'sent', time: minute },
          { id: 'n1', status: 'delivered', time: 2 * minute },
        ], 0),
      ),
    ).toEqual([{ id: 'n1', delivered: true, latencyMs: 2 * minute }])
    expect(operator.pendingTimers).toBe(1)
    // Watermark = 11 min − 5 s: n2's deadline (11 min) is not passed yet.
    expect(outputs(operator.process(0, [{ id: 'n3', status: 'sent', time: 11 * minute }], 1))).toEqual([])
    expect(outputs(operator.process(0, [{ id: 'n4', status: 'sent', time: 11 * minute + 5_000 }], 2))).toEqual([
      { id: 'n2', delivered: false, sentAt: minute },
    ])
    // A delivery after the give-up is ignored; the late one is visible through the watermark in context.
    expect(outputs(operator.process(0, [{ id: 'n2', status: 'delivered', time: 12 * minute }], 3))).toEqual([])
  })

  it('estimates the heap its states and timers take, counting deleted timers still queued until their time', () => {
    const operator = lifecycle()
    expect(operator.stats()).toEqual({ keys: 0, timers: 0, stateBytes: 0 })
    const sends = Array.from({ length: 1_000 }, (_, index) => ({ id: `n-${String(index).padStart(4, '0')}`, status: 'sent' as const, time: 1_000 + index }))
    operator.process(0, sends, 0)
    const sent = operator.stats()
    expect([sent.keys, sent.timers]).toEqual([1_000, 1_000])
    // Per key at least its state, Map entry and key string, plus its timer.
    expect(sent.stateBytes / 1_000).toBeGreaterThan(objectBytes(1) + NUMBER_BYTES + 40 + 24 + 100)
    expect(sent.stateBytes / 1_000).toBeLessThan(1_000)

    // Delivered: states and timers are gone, but the timers' heap slots stay until their time.
    operator.process(0, sends.map((send) => ({ ...send, status: 'delivered' as const, time: send.time + 1 })), 0)
    const delivered = operator.stats()
    expect([delivered.keys, delivered.timers]).toEqual([0, 0])
    expect(delivered.stateBytes).toBeGreaterThan(0)
    expect(delivered.stateBytes).toBeLessThan(sent.stateBytes / 2)
  })

  it('fires processing-time timers from the injected clock', () => {
    const operator = new KeyedProcessOperator<{ key: string; time: number }, number, string>({
      key: (event) => event.key,
      time: (event) => event.time,
      outOfOrdernessMs: 0,
      idleTimeoutMs: 1_000,
      processEvent(event, context) {
        context.state = (context.state ?? 0) + 1
        context.setTimer('processing', context.now + 500, 'flush')
      },
      onTimer(timer, context) {
        context.emit(`${timer.key}:${context.state}@${context.now}`)
      },
      serializeState: (state, writer) => writer.u8(state),
      deserializeState: (reader) => reader.u8(),
      stateBytes: () => 0,
    })
    operator.process(0, [{ key: 'a', time: 1 }, { key: 'a', time: 2 }], 100)
    expect(outputs(operator.onProcessingTime(599) as never)).toEqual([])
    expect(outputs(operator.onProcessingTime(600) as never)).toEqual(['a:2@600'])
  })

  // With 20 more timers on key a, it keeps them in a Map by id rather than a list.
  it.each([0, 20])('keeps one timer per (key, domain, time, tag): a repeat is ignored, a deleted one never fires, one set again fires once (%i more on the key)', (padding) => {
    type Command = { key: string; op: 'set' | 'delete'; time: number; tag: string; domain: 'event' | 'processing' }
    const operator = new KeyedProcessOperator<Command & { at: number }, true, string>({
      key: (command) => command.key,
      time: (command) => command.at,
      outOfOrdernessMs: 0,
      idleTimeoutMs: 60_000,
      processEvent(command, context) {
        context.state = true
        if (command.op === 'set') context.setTimer(command.domain, command.time, command.tag)
        else context.deleteTimer(command.domain, command.time, command.tag)
      },
      onTimer: (timer, context) => context.emit(`${timer.key}/${timer.domain}/${timer.tag}@${timer.time}`),
      serializeState: () => {},
      deserializeState: () => true,
      stateBytes: () => 0,
    })
    const command = (key: string, op: 'set' | 'delete', time: number, tag = 't', domain: 'event' | 'processing' = 'event') => ({ key, op, time, tag, domain, at: 0 })
    operator.process(0, [
      ...Array.from({ length: padding }, (_, index) => command('a', 'set', 10_000 + index)),
      command('a', 'set', 20_000, 'x'), command('a', 'delete', 20_000, 'x'), // on a's list, or its Map
      command('a', 'set', 20_001, 'y'), command('a', 'delete', 20_001, 'y'), command('a', 'set', 20_001, 'y'), command('a', 'set', 20_001, 'y'),
      command('a', 'set', 100), command('a', 'set', 100), // a repeat: one timer
      command('a', 'set', 100, 'u'), command('a', 'set', 100, 't', 'processing'), // another tag, another domain: timers of their own
      command('b', 'set', 50), command('b', 'delete', 50), // deleted: never fires
      command('c', 'set', 70), command('c', 'delete', 70), command('c', 'set', 70), // set again: fires once
      command('d', 'delete', 70), // nothing to delete
    ], 0)
    expect(operator.pendingTimers).toBe(5 + padding)
    const fired = [...operator.process(0, [{ ...command('z', 'set', 1_000), at: 200 }], 0), ...operator.onProcessingTime(100)]
    expect(outputs(fired as never)).toEqual(['c/event/t@70', 'a/event/t@100', 'a/event/u@100', 'a/processing/t@100'])
    expect(operator.pendingTimers).toBe(2 + padding)
    // The key's remaining timers still fire in order, once each, and none is left behind.
    const rest = outputs(operator.endOfInput(0) as never)
    expect(rest).toEqual(['z/event/t@1000', ...Array.from({ length: padding }, (_, index) => `a/event/t@${10_000 + index}`), 'a/event/y@20001'])
    expect(operator.pendingTimers).toBe(0)
  })

  // A cache of one byte keeps no state between batches: every key is read back from the store.
  it.each([['the default cache', undefined], ['a one-byte cache', 1]])('restoring at a random cut point yields the same outputs as never stopping, with %s (property)', (_name, cacheBytes) => {
    const event = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      status: fc.constantFrom('sent' as const, 'delivered' as const),
      offset: fc.integer({ min: -60_000, max: 5 * 60_000 }),
    })
    fc.assert(
      fc.property(fc.array(fc.array(event, { maxLength: 5 }), { maxLength: 25 }), fc.nat(), fc.array(fc.nat(), { maxLength: 4 }), (batches, rawCut, checkpointsAt) => {
        let time = 0
        const steps = batches.map((batch, index) => ({
          now: index * 1_000,
          events: batch.map((item) => {
            time += Math.max(0, item.offset)
            return { id: item.id, status: item.status, time: Math.max(0, time + Math.min(0, item.offset)) }
          }),
        }))
        const cut = rawCut % (steps.length + 1)
        const checkpoints = new Set(checkpointsAt.map((at) => at % (steps.length + 1)))
        const straight = lifecycle()
        const expected = [...steps.flatMap((step) => straight.process(0, step.events, step.now)), ...straight.endOfInput(1e9)]
        const store = createHeapStateStore(cacheBytes === undefined ? {} : { cacheBytes }).partition('lifecycle', 0)
        let current = lifecycle(store)
        const actual = steps.flatMap((step, index) => {
          // Checkpoints before the cut move states and timers into the store, and some fire from there.
          if (checkpoints.has(index)) checkpoint(current, store)
          if (index === cut) {
            const whole = checkpoint(current, store)
            const next = lifecycle(store)
            expect(next.restore(whole)).toEqual({ ok: true })
            expect(next.stats().keys).toBe(current.stats().keys)
            expect(next.pendingTimers).toBe(current.pendingTimers)
            current = next
          }
          return current.process(0, step.events, step.now)
        })
        actual.push(...current.endOfInput(1e9))
        expect(canonical(actual)).toBe(canonical(expected))
        expect(current.pendingTimers).toBe(0)
        // Every timeout fired and every state went: nothing of them is left in the store.
        checkpoint(current, store)
        expect([...store.range('lifecycle/')].map((entry) => entry.key)).toEqual([])
        expect(current.stats().keys).toBe(0)
      }),
      { numRuns: 300 },
    )
  })

  it('restores a snapshot written before the store, with every state and timer inside', () => {
    const store = createHeapStateStore().partition('lifecycle', 0)
    const restored = lifecycle(store)
    expect(restored.restore(LEGACY_SNAPSHOT)).toEqual({ ok: true })
    expect([restored.stats().keys, restored.pendingTimers]).toEqual([2, 2])
    // The legacy states become changes: the next checkpoint writes them, and a restore from it has them.
    const whole = checkpoint(restored, store)
    const again = lifecycle(store)
    expect(again.restore(whole)).toEqual({ ok: true })
    expect(outputs(again.endOfInput(0))).toEqual([
      { id: 'n1', delivered: false, sentAt: 0 },
      { id: 'n2', delivered: false, sentAt: 60_000 },
    ])
  })
})
