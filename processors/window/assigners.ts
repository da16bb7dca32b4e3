import type { WindowAssigner } from './types.ts'

/** Window assigner factories; parameters are validated once here, never on the hot path. */

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of ms, got ${value}`)
  return value
}

/** Fixed, non-overlapping windows [start, start + size) aligned to `offsetMs` (default epoch). */
export function tumbling(sizeMs: number, offsetMs = 0): WindowAssigner {
  return Object.freeze({ type: 'tumbling', sizeMs: positive('sizeMs', sizeMs), offsetMs })
}

/** Overlapping windows of `sizeMs` starting every `slideMs`; each event lands in size/slide windows. */
export function hopping(sizeMs: number, slideMs: number, offsetMs = 0): WindowAssigner {
  positive('sizeMs', sizeMs)
  positive('slideMs', slideMs)
  if (slideMs > sizeMs) throw new RangeError('slideMs larger than sizeMs would leave gaps between windows')
  return Object.freeze({ type: 'hopping', sizeMs, slideMs, offsetMs })
}

/** Per-key activity sessions: an event extends its session while the gap to the next stays < gapMs. */
export function session(gapMs: number): WindowAssigner {
  return Object.freeze({ type: 'session', gapMs: positive('gapMs', gapMs) })
}

/** Start of the latest window containing `time`, for a grid of `slide` shifted by `offset`. */
export function lastWindowStart(time: number, slide: number, offset: number): number {
  const remainder = (time - offset) % slide
  return time - (remainder < 0 ? remainder + slide : remainder)
}
