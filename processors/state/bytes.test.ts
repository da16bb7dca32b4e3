import { describe, expect, it } from 'vitest'
import { ByteReader, ByteWriter } from './bytes.ts'

describe('ByteWriter', () => {
  it('lets go of a buffer grown for one large value when reset, and goes on writing the same bytes', () => {
    const writer = new ByteWriter(16)
    const held = () => (writer as unknown as { buffer: Buffer }).buffer.length
    writer.string('x'.repeat(1_000_000))
    const large = writer.finish()
    expect(held()).toBeGreaterThanOrEqual(1_000_004)
    writer.reset()
    expect(held()).toBe(16)
    writer.f64(1.5)
    writer.string('small')
    const small = writer.finish()
    const reader = new ByteReader(small)
    expect([reader.f64(), reader.string(), reader.done()]).toEqual([1.5, 'small', true])
    // What `finish` took before the reset is a copy: untouched by what followed.
    expect(new ByteReader(large).string()).toBe('x'.repeat(1_000_000))
    // A buffer that stayed small is kept.
    writer.reset()
    writer.u32(7)
    const kept = (writer as unknown as { buffer: Buffer }).buffer
    writer.reset()
    expect((writer as unknown as { buffer: Buffer }).buffer).toBe(kept)
  })
})
