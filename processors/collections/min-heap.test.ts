import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MinHeap } from './min-heap.ts'

describe('MinHeap', () => {
  it('pops by priority, and after retain pops exactly the kept items left, by priority', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: -50, max: 50 }), fc.boolean())), fc.nat({ max: 20 }), (items, popsFirst) => {
        const heap = new MinHeap<number>()
        items.forEach(([priority], id) => heap.push(priority, id))
        const popAll = (limit: number) => {
          const ids: number[] = []
          while (ids.length < limit && heap.size > 0) {
            const top = heap.peekPriority()
            const id = heap.pop()!
            expect(items[id]![0]).toBe(top)
            ids.push(id)
          }
          return ids
        }
        const priorities = (ids: readonly number[]) => ids.map((id) => items[id]![0])
        const first = popAll(popsFirst)
        heap.retain((id) => items[id]![1])
        const rest = popAll(Infinity)
        expect(priorities(first)).toEqual(priorities(first).sort((a, b) => a - b))
        expect(priorities(rest)).toEqual(priorities(rest).sort((a, b) => a - b))
        const left = items.map((_, id) => id).filter((id) => items[id]![1] && !first.includes(id))
        expect([...rest].sort((a, b) => a - b)).toEqual(left)
      }),
      { numRuns: 300 },
    )
  })
})
