import { describe, expect, it } from 'vitest'
import type { ProduceRecord, RecordMetadata } from '../port.ts'
import { Accumulator, type PendingSend, type Schedule } from './accumulator.ts'

/** A linger timer the test fires by hand, so batching is observed without waiting. */
function manualSchedule(): { schedule: Schedule; fire(): void; armed(): boolean } {
  let pending: (() => void) | undefined
  return {
    schedule: (_ms, run) => {
      pending = run
      return () => (pending = undefined)
    },
    fire: () => pending?.(),
    armed: () => pending !== undefined,
  }
}

const records = (count: number, key: string | null = 'k'): ProduceRecord[] =>
  Array.from({ length: count }, (_, i) => ({ key, value: Buffer.from(`v${i}`) }))

/** A flush that answers each call with fake offsets and remembers how calls were grouped. */
function recordingFlush() {
  const flushes: PendingSend[][] = []
  let release: (() => void) | undefined
  let hold = false
  let offset = 0
  const flush = async (sends: readonly PendingSend[]): Promise<void> => {
    flushes.push([...sends])
    if (hold) await new Promise<void>((resolve) => (release = resolve))
    for (const send of sends) {
      send.resolve(send.records.map((): RecordMetadata => ({ topic: send.topic, partition: 0, offset: offset++ })))
    }
  }
  return { flush, flushes, holdNext: () => (hold = true), release: () => ((hold = false), release?.()) }
}

describe('producer accumulator', () => {
  it('sends concurrent calls in one flush once the linger expires, each caller getting its own offsets', async () => {
    const timer = manualSchedule()
    const { flush, flushes } = recordingFlush()
    const accumulator = new Accumulator({ lingerMs: 5, maxRecords: 1000, maxBytes: 1 << 20, flush, schedule: timer.schedule })
    const calls = [accumulator.add('a', records(2)), accumulator.add('b', records(3)), accumulator.add('a', records(1))]
    expect(flushes).toHaveLength(0)
    timer.fire()
    const results = await Promise.all(calls)
    expect(flushes).toHaveLength(1)
    expect(flushes[0]!.map((send) => send.topic)).toEqual(['a', 'b', 'a'])
    expect(results.map((metadata) => metadata.map((meta) => meta.offset))).toEqual([[0, 1], [2, 3, 4], [5]])
    expect(results[1]!.every((meta) => meta.topic === 'b')).toBe(true)
  })

  it('sends at once when a flush reaches maxRecords, without waiting for the linger', async () => {
    const timer = manualSchedule()
    const { flush, flushes } = recordingFlush()
    const accumulator = new Accumulator({ lingerMs: 1000, maxRecords: 10, maxBytes: 1 << 20, flush, schedule: timer.schedule })
    const first = accumulator.add('t', records(4))
    const second = accumulator.add('t', records(6))
    await Promise.all([first, second])
    expect(flushes).toHaveLength(1)
    expect(timer.armed()).toBe(false)
  })

  it('runs one flush at a time; calls arriving meanwhile form the next flush, sent when the first settles', async () => {
    const timer = manualSchedule()
    const recorder = recordingFlush()
    const accumulator = new Accumulator({ lingerMs: 5, maxRecords: 1000, maxBytes: 1 << 20, flush: recorder.flush, schedule: timer.schedule })
    recorder.holdNext()
    const first = accumulator.add('t', records(1))
    timer.fire()
    const later = [accumulator.add('t', records(1)), accumulator.add('t', records(2))]
    expect(recorder.flushes).toHaveLength(1)
    recorder.release()
    await Promise.all([first, ...later])
    expect(recorder.flushes.map((sends) => sends.length)).toEqual([1, 2])
  })

  it('splits what waited during a flush at the request limits, keeping call order', async () => {
    const timer = manualSchedule()
    const recorder = recordingFlush()
    const accumulator = new Accumulator({ lingerMs: 5, maxRecords: 5, maxBytes: 1 << 20, flush: recorder.flush, schedule: timer.schedule })
    recorder.holdNext()
    const first = accumulator.add('t', records(1))
    timer.fire()
    const later = [3, 2, 4, 1].map((count) => accumulator.add('t', records(count)))
    recorder.release()
    await Promise.all([first, ...later])
    expect(recorder.flushes.map((sends) => sends.map((send) => send.records.length))).toEqual([[1], [3, 2], [4, 1]])
  })

  it('rejects every call of a failed flush and keeps serving later calls', async () => {
    const timer = manualSchedule()
    let fail = true
    const accumulator = new Accumulator({
      lingerMs: 5,
      maxRecords: 1000,
      maxBytes: 1 << 20,
      schedule: timer.schedule,
      flush: async (sends) => {
        if (fail) throw new Error('broker down')
        for (const send of sends) send.resolve([{ topic: send.topic, partition: 0, offset: 7 }])
      },
    })
    const failed = [accumulator.add('t', records(1)), accumulator.add('t', records(1))]
    timer.fire()
    for (const call of failed) await expect(call).rejects.toThrow('broker down')
    fail = false
    const next = accumulator.add('t', records(1))
    timer.fire()
    await expect(next).resolves.toEqual([{ topic: 't', partition: 0, offset: 7 }])
  })

  it('drain() sends what is waiting without the linger and resolves once it settled', async () => {
    const timer = manualSchedule()
    const { flush, flushes } = recordingFlush()
    const accumulator = new Accumulator({ lingerMs: 60_000, maxRecords: 1000, maxBytes: 1 << 20, flush, schedule: timer.schedule })
    const call = accumulator.add('t', records(3))
    await accumulator.drain()
    expect(flushes).toHaveLength(1)
    await expect(call).resolves.toHaveLength(3)
  })
})
