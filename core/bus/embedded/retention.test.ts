import { describe, expect, it } from 'vitest'
import { segmentsToDelete } from './retention.ts'

const segments = [
  { size: 100, maxTimestamp: 1_000 },
  { size: 100, maxTimestamp: 2_000 },
  { size: 100, maxTimestamp: 3_000 },
]

describe('segmentsToDelete', () => {
  it('keeps everything without a policy', () => {
    expect(segmentsToDelete(segments, 350, {}, 10_000)).toBe(0)
  })

  it('deletes the leading segments whose newest record is older than retentionMs', () => {
    expect(segmentsToDelete(segments, 350, { retentionMs: 7_500 }, 10_000)).toBe(2)
    expect(segmentsToDelete(segments, 350, { retentionMs: 20_000 }, 10_000)).toBe(0)
  })

  it('deletes while the partition would still hold at least retentionBytes', () => {
    // 350 bytes in total (50 in the active segment): dropping two leaves 150 >= 150.
    expect(segmentsToDelete(segments, 350, { retentionBytes: 150 }, 0)).toBe(2)
    expect(segmentsToDelete(segments, 350, { retentionBytes: 151 }, 0)).toBe(1)
    expect(segmentsToDelete(segments, 350, { retentionBytes: 10 }, 0)).toBe(3)
  })

  it('combines both rules, counting age deletions towards the size budget', () => {
    expect(segmentsToDelete(segments, 350, { retentionMs: 8_500, retentionBytes: 200 }, 10_000)).toBe(1)
    expect(segmentsToDelete(segments, 350, { retentionMs: 8_500, retentionBytes: 100 }, 10_000)).toBe(2)
  })
})
