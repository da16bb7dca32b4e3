/**
 * Which of a partition's oldest segments retention removes, with Kafka's rules: by age, a segment
 * goes when its newest record is older than retentionMs; by size, while the partition stays at or
 * above retentionBytes without it. Both only take a leading run of sealed segments, never the
 * active one (callers pass sealed segments only).
 */
export interface RetentionPolicy {
  readonly retentionMs?: number
  readonly retentionBytes?: number
}

export interface SegmentStats {
  readonly size: number
  /** Largest record timestamp in the segment. */
  readonly maxTimestamp: number
}

export function segmentsToDelete(
  sealed: readonly SegmentStats[],
  totalBytes: number,
  policy: RetentionPolicy,
  now: number,
): number {
  let count = 0
  if (policy.retentionMs !== undefined) {
    const cutoff = now - policy.retentionMs
    while (count < sealed.length && sealed[count]!.maxTimestamp < cutoff) count++
  }
  if (policy.retentionBytes !== undefined) {
    let excess = totalBytes - policy.retentionBytes
    for (let i = 0; i < count; i++) excess -= sealed[i]!.size
    while (count < sealed.length && excess - sealed[count]!.size >= 0) {
      excess -= sealed[count]!.size
      count++
    }
  }
  return count
}
