import { describe, expect, it } from 'vitest'
import { retry } from './retry.ts'

const noSleep = async () => {}

describe('retry', () => {
  it('retries transient failures with growing, jittered delays', async () => {
    const delays: number[] = []
    let calls = 0
    const result = await retry(async () => {
      calls += 1
      if (calls < 4) throw new Error('transient')
      return 'ok'
    }, { attempts: 10, minDelayMs: 100, maxDelayMs: 1_000, sleep: noSleep, random: () => 1, onRetry: (_e, _a, delay) => delays.push(delay) })
    expect(result).toBe('ok')
    expect(delays).toEqual([100, 200, 400])
  })

  it('stops at once on an error flagged not retriable', async () => {
    let calls = 0
    const failing = retry(async () => {
      calls += 1
      throw Object.assign(new Error('bad schema'), { retriable: false })
    }, { attempts: 5, minDelayMs: 1, maxDelayMs: 1, sleep: noSleep })
    await expect(failing).rejects.toThrow('bad schema')
    expect(calls).toBe(1)
  })

  it('gives up after the attempts and caps the delay', async () => {
    const delays: number[] = []
    await expect(retry(async () => { throw new Error('down') }, { attempts: 6, minDelayMs: 100, maxDelayMs: 300, sleep: noSleep, random: () => 1, onRetry: (_e, _a, d) => delays.push(d) })).rejects.toThrow('down')
    expect(delays).toEqual([100, 200, 300, 300, 300])
  })
})
