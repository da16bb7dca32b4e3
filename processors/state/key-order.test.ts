import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareCodePoints, fromSortableDouble, sortableDouble, sortableNumber } from './key-order.ts'

const utf8 = (text: string) => Buffer.from(text, 'utf8')

describe('compareCodePoints', () => {
  it('orders strings as their UTF-8 bytes sort', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (left, right) => {
        expect(Math.sign(compareCodePoints(left, right))).toBe(Math.sign(Buffer.compare(utf8(left), utf8(right))))
      }),
      { numRuns: 2_000 },
    )
  })

  it('puts a character above U+FFFF after U+FFFF, where < puts it before', () => {
    expect(compareCodePoints('a\u{1F600}', 'a\uffff')).toBeGreaterThan(0)
    expect('a\u{1F600}' < 'a\uffff').toBe(true)
    expect(compareCodePoints('a\u0000', 'a')).toBeGreaterThan(0)
    expect(compareCodePoints('same', 'same')).toBe(0)
  })
})

describe('sortable numbers', () => {
  it('sortableDouble orders every number as < does, fractions and negatives included', () => {
    const number = fc.oneof(fc.double({ noNaN: true }), fc.integer({ min: -1e15, max: 1e15 }).map((n) => n / 8))
    fc.assert(
      fc.property(number, number, (left, right) => {
        const [a, b] = [sortableDouble(left), sortableDouble(right)]
        expect(a).toHaveLength(16)
        expect(Object.is(fromSortableDouble(a), left)).toBe(true)
        if (left < right) expect(compareCodePoints(a, b)).toBeLessThan(0)
        else if (left > right) expect(compareCodePoints(a, b)).toBeGreaterThan(0)
        else if (!Object.is(left, -0) && !Object.is(right, -0)) expect(a).toBe(b)
      }),
      { numRuns: 5_000 },
    )
    expect(compareCodePoints(sortableDouble(1_000.25), sortableDouble(1_000.5))).toBeLessThan(0)
  })

  it('sortableNumber orders integers as < does, at a fixed width', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 50), max: 2 ** 52 }), fc.integer({ min: -(2 ** 50), max: 2 ** 52 }), (left, right) => {
        expect(Math.sign(compareCodePoints(sortableNumber(left), sortableNumber(right)))).toBe(Math.sign(left - right))
        expect(sortableNumber(left)).toHaveLength(14)
      }),
    )
  })
})
