import { describe, expect, it } from 'vitest'
import { StagedOverlay } from './staged-overlay.ts'
import type { StateEntry } from './store.ts'

const bytes = (text: string) => new TextEncoder().encode(text)

describe('staged overlay', () => {
  it('closes the stored range when the caller stops early, so a disk cursor does not stay open', () => {
    const overlay = new StagedOverlay()
    overlay.add({ nextOffset: 1, savedAt: 0, whole: new Uint8Array(), entries: new Map([['t/e/2', bytes('staged')]]) })
    let closed = false
    function* stored(): Generator<StateEntry> {
      try {
        yield { key: 't/e/1', value: bytes('one') }
        yield { key: 't/e/3', value: bytes('three') }
      } finally {
        closed = true
      }
    }
    for (const entry of overlay.over(stored(), 't/e/', {})) {
      expect(entry.key).toBe('t/e/1')
      break
    }
    expect(closed).toBe(true)
  })

  it('merges several stages lazily in key order, the newest value of a key winning', () => {
    const overlay = new StagedOverlay()
    overlay.add({ nextOffset: 1, savedAt: 0, whole: new Uint8Array(), entries: new Map([['t/e/2', bytes('old')], ['t/e/4', bytes('four')]]) })
    overlay.add({ nextOffset: 2, savedAt: 0, whole: new Uint8Array(), entries: new Map([['t/e/2', bytes('new')], ['t/e/3', null], ['t/x/1', bytes('other')]]) })
    const stored: StateEntry[] = [{ key: 't/e/1', value: bytes('one') }, { key: 't/e/3', value: bytes('three') }, { key: 't/e/5', value: bytes('five') }]
    // The stored layer applies the bounds itself, as the adapters do.
    const read = (bounds: { from?: string; until?: string } = {}) => {
      const inBounds = stored.filter((entry) => entry.key >= (bounds.from ?? '') && (bounds.until === undefined || entry.key < bounds.until))
      return [...overlay.over(inBounds, 't/e/', bounds)].map(({ key, value }) => `${key}=${new TextDecoder().decode(value)}`)
    }
    expect(read()).toEqual(['t/e/1=one', 't/e/2=new', 't/e/4=four', 't/e/5=five'])
    expect(read({ from: 't/e/2', until: 't/e/5' })).toEqual(['t/e/2=new', 't/e/4=four'])
  })
})
