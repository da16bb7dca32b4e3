import { describe, expect, it } from 'vitest'
import { readTime } from './time.ts'

describe('readTime', () => {
  it('refuses dates that do not exist instead of rolling them over', () => {
    for (const value of ['2026-02-30', '2026-02-29T10:00:00Z', '2026-04-31T00:00:00+02:00', '2026-13-01', '2026-00-10', '2026-01-00', '2026-06-31']) {
      expect(readTime(value), value).toBeNaN()
    }
  })

  it('reads dates that exist, leap days included', () => {
    expect(readTime('2024-02-29T12:00:00Z')).toBe(Date.UTC(2024, 1, 29, 12))
    expect(readTime('2026-12-31')).toBe(Date.UTC(2026, 11, 31))
    expect(readTime('2000-02-29')).toBe(Date.UTC(2000, 1, 29))
    expect(readTime('1900-02-29')).toBeNaN()
    expect(readTime(1_764_000_000_000)).toBe(1_764_000_000_000)
  })
})
