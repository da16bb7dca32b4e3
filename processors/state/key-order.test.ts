import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareCodePoints } from './key-order.ts'

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
