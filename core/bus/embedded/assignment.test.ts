import { describe, expect, it } from 'vitest'
import { rangeAssign } from './assignment.ts'

const counts: Record<string, number> = { a: 5, b: 2 }

describe('rangeAssign', () => {
  it('splits each topic into contiguous ranges, extra partitions to the first members', () => {
    const result = rangeAssign(
      [
        { memberId: 'm2', topics: ['a'] },
        { memberId: 'm1', topics: ['a', 'b'] },
      ],
      (topic) => counts[topic]!,
    )
    expect(result.get('m1')).toEqual([
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 1 },
      { topic: 'a', partition: 2 },
      { topic: 'b', partition: 0 },
      { topic: 'b', partition: 1 },
    ])
    expect(result.get('m2')).toEqual([
      { topic: 'a', partition: 3 },
      { topic: 'a', partition: 4 },
    ])
  })

  it('leaves surplus members idle', () => {
    const result = rangeAssign(
      ['m1', 'm2', 'm3'].map((memberId) => ({ memberId, topics: ['b'] })),
      (topic) => counts[topic]!,
    )
    expect(result.get('m3')).toEqual([])
    expect([...result.values()].flat()).toHaveLength(2)
  })
})
