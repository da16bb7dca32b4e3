import type { Stream } from '../../schemas/avro/catalog.ts'
import type { ReprocessSettings } from './tables.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** How far a stream's rows reach beyond the events of their own range. */
export interface StreamReach {
  /** Ranges are widened to multiples of this: the longest tumbling window, so no window is cut. */
  readonly alignMs: number
  /** Events this long before a slice decide its rows too: a session's start, a path's previous page. */
  readonly beforeMs: number
  /** Events this long after a slice still fall in windows that start inside it (hopping windows). */
  readonly afterMs: number
  /** Events of the slice's keys this long after it may still extend its rows (sessions chained by the gap). */
  readonly followKeysMs: number
}

export function streamReach(stream: Stream, settings: ReprocessSettings): StreamReach {
  switch (stream) {
    case 'click':
      return {
        alignMs: HOUR,
        beforeMs: Math.max(settings.click.sessionGapMs, settings.click.activeWindowMs),
        afterMs: settings.click.activeWindowMs,
        // A visitor active for a day without a half-hour pause is a bot or a wall screen: its
        // session is left to the live job rather than read without end (reported as incomplete).
        followKeysMs: 24 * HOUR,
      }
    case 'log':
      return { alignMs: HOUR, beforeMs: 0, afterMs: 0, followKeysMs: 0 }
    case 'notification':
      return { alignMs: MINUTE, beforeMs: 0, afterMs: 0, followKeysMs: 0 }
  }
}

/**
 * Which rows a late event at t can change: those starting from t − beforeMs to t + afterMs, in
 * whole windows of alignMs. Clicks reach back to the hopping windows and sessions holding t (a
 * session chained by the gap further back is found at run time, see session-reach.ts) and
 * forward to a session starting less than a gap after t, which t merges away, and to the
 * transition from t's page to the next, counted in the next page's hour.
 */
export interface LateReach {
  readonly alignMs: number
  readonly beforeMs: number
  readonly afterMs: number
}

export function lateReach(stream: Stream, settings: ReprocessSettings): LateReach {
  const { alignMs, beforeMs } = streamReach(stream, settings)
  return { alignMs, beforeMs, afterMs: stream === 'click' ? settings.click.sessionGapMs : 0 }
}

/** One unit of a reprocess: rows starting in [fromMs, toMs), from the events of its reads. */
export interface Slice {
  readonly fromMs: number
  readonly toMs: number
  /** Every event in [readFromMs, readToMs) … */
  readonly readFromMs: number
  readonly readToMs: number
  /** … and, up to here, those of the keys that have events in [fromMs, toMs). */
  readonly followToMs: number
}

/**
 * Slices of a few hours each: what one pass holds in memory is bounded by the slice, not by the
 * range, and a reprocess killed midway resumes at the first slice not done.
 */
export const SLICE_MS = 6 * HOUR

/** The range widened to whole windows, cut into slices with the reads each needs. */
export function planSlices(fromMs: number, toMs: number, reach: StreamReach, sliceMs = SLICE_MS): Slice[] {
  if (!(Number.isFinite(fromMs) && Number.isFinite(toMs)) || toMs <= fromMs) throw new RangeError(`the range must end after it starts (from ${fromMs}, to ${toMs})`)
  const step = Math.max(reach.alignMs, Math.floor(sliceMs / reach.alignMs) * reach.alignMs)
  const start = Math.floor(fromMs / reach.alignMs) * reach.alignMs
  const end = Math.ceil(toMs / reach.alignMs) * reach.alignMs
  const slices: Slice[] = []
  for (let from = start; from < end; from += step) {
    const to = Math.min(end, from + step)
    slices.push({ fromMs: from, toMs: to, readFromMs: from - reach.beforeMs, readToMs: to + reach.afterMs, followToMs: to + reach.afterMs + reach.followKeysMs })
  }
  return slices
}
