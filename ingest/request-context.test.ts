import fc from 'fast-check'
import { expect, it } from 'vitest'
import { jsonSizeBound, oversizedEvents } from './request-context.ts'

it('jsonSizeBound never underestimates the UTF-8 JSON size', () => {
  fc.assert(fc.property(fc.jsonValue(), (value) => {
    expect(jsonSizeBound(value, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(value)))
  }), { numRuns: 500 })
  // The longest a number gets in JSON: 25 characters.
  for (const value of [-0.0000010003005564106431, -1.2345678901234567e-300, -123456789012345680000]) {
    expect(jsonSizeBound(value, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(JSON.stringify(value).length)
  }
})

it('finds exactly the events over the limit', () => {
  const events = [{ a: 'x'.repeat(100) }, { a: 'é'.repeat(600) }, { a: 'y'.repeat(1_100) }]
  // 'é' is 2 bytes: 1,200+ bytes of JSON; 'y' × 1,100 is 1,108 bytes.
  expect(oversizedEvents(events, 10_000, 1_150, (i) => `/batch/${i}`).map((e) => e.event)).toEqual([1])
})

it('jsonSizeBound counts bodies nested past any stack without recursing', () => {
  const deep = JSON.parse(`${'['.repeat(100_000)}"x"${']'.repeat(100_000)}`)
  expect(jsonSizeBound(deep, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(200_003)
  expect(jsonSizeBound(deep, 1_000)).toBeLessThan(2_000)
})
