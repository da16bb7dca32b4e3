import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteReader, ByteWriter } from '../state/bytes.ts'
import { visitorPathCodec, type VisitorPath } from './visitor-paths.ts'

const paths = fc.record({
  last: fc.option(fc.string(), { nil: undefined }),
  lastTs: fc.option(fc.double({ noNaN: true }), { nil: undefined }),
  pending: fc.array(fc.tuple(fc.double({ noNaN: true }), fc.string(), fc.string()), { maxLength: 4 }),
  expireAt: fc.option(fc.double({ noNaN: true }), { nil: undefined }),
}, { requiredKeys: ['pending'] })

function written(state: VisitorPath): Uint8Array {
  const writer = new ByteWriter(16)
  visitorPathCodec.write(state, writer)
  return writer.finish()
}

/** Only the fields a path has: a missing one must stay missing, not come back as undefined or 0. */
const present = (state: VisitorPath) => Object.fromEntries(Object.entries(state).filter(([, value]) => value !== undefined))

describe('visitor path codec', () => {
  it('reads back what it writes, fields that were absent still absent', () => {
    fc.assert(fc.property(paths, (state) => {
      const read = visitorPathCodec.read(new ByteReader(written(state)))
      expect(read).toEqual(present(state))
      expect(Object.keys(read).sort()).toEqual(Object.keys(present(state)).sort())
    }), { numRuns: 300 })
  })

  it('reads a path written as JSON, as releases before this format wrote them', () => {
    const state: VisitorPath = { last: '/pricing', lastTs: 1_764_000_000_123, pending: [[1_764_000_001_000, 'e-1', '/docs']], expireAt: 1_764_001_800_123 }
    expect(visitorPathCodec.read(new ByteReader(Buffer.from(JSON.stringify(state), 'utf8')))).toEqual(state)
    expect(visitorPathCodec.read(new ByteReader(Buffer.from('{"pending":[]}', 'utf8')))).toEqual({ pending: [] })
  })

  it('refuses a format it does not know instead of misreading it', () => {
    expect(() => visitorPathCodec.read(new ByteReader(new Uint8Array([9, 0, 0, 0, 0, 0])))).toThrow('visitor path in format 9')
  })
})
