import { describe, expect, it } from 'vitest'
import { InsertStats } from './insert-stats.ts'

describe('InsertStats', () => {
  it('gives nearest-rank p50 and p99 over the recent inserts, and counts failures apart', () => {
    const stats = new InsertStats()
    expect(stats.summary()).toEqual({ inserts: 0, failures: 0 })
    for (let ms = 1; ms <= 100; ms++) stats.record(ms, false)
    stats.record(5_000, true)
    expect(stats.summary()).toEqual({ inserts: 100, failures: 1, p50Ms: 50, p99Ms: 99 })
  })

  it('forgets the oldest latencies once 256 are kept', () => {
    const stats = new InsertStats()
    for (let i = 0; i < 256; i++) stats.record(1_000, false)
    for (let i = 0; i < 256; i++) stats.record(2, false)
    expect(stats.summary()).toMatchObject({ inserts: 512, p50Ms: 2, p99Ms: 2 })
  })
})
