import type { ClickEvent } from '../../schemas/types.generated.ts'
import type { RestoreResult } from '../job.ts'
import { count, dimensionBreakdown, distinct, regroupAlignedSnapshot, tumbling, writeBreakdownEntries, type BreakdownEntrySnapshot, type DistinctItems } from '../window/index.ts'
import { keyPart, keyParts } from './emissions.ts'

/** Dimensions of the per-minute breakdown; 'total' (value '') is the whole project. */
export const CLICK_DIMENSIONS = ['total', 'path', 'referrer_domain', 'utm_source', 'utm_campaign', 'browser', 'os', 'device_type', 'country'] as const
type ValueDimension = Exclude<(typeof CLICK_DIMENSIONS)[number], 'total'>

const MINUTE = 60_000

/** Pageviews and visitors per minute, project and (dimension, value): one window state per project and minute. */
export const BREAKDOWN_SHAPE = {
  assigner: tumbling(MINUTE),
  aggregates: {
    breakdown: dimensionBreakdown<ClickEvent>({
      dimensions: CLICK_DIMENSIONS,
      values: (event, values) => {
        values[0] = ''
        for (let index = 1; index < CLICK_DIMENSIONS.length; index++) {
          values[index] = keyPart(String(event[CLICK_DIMENSIONS[index] as ValueDimension] ?? ''))
        }
      },
      distinct: (event) => event.anonymous_id,
    }),
  },
}

/**
 * Until 2026-12-05 each (project, dimension, value) was a window state of its own, keyed by the
 * three joined. Checkpoints written then are regrouped into one state per project on restore, so an
 * upgrade keeps its open minutes instead of losing their counts.
 */
const KEYED_BY_VALUE_SHAPE = {
  assigner: tumbling(MINUTE),
  aggregates: { pageviews: count<never>(), visitors: distinct<never>(() => '') },
}

export function restoreBreakdown(operator: { restore(bytes: Uint8Array): RestoreResult }, bytes: Uint8Array): RestoreResult {
  let converted: Uint8Array | null
  try {
    converted = regroupAlignedSnapshot(bytes, KEYED_BY_VALUE_SHAPE, BREAKDOWN_SHAPE, {
      group: (key) => keyParts(key)[0]!,
      fold: (states) => {
        const byDimension = CLICK_DIMENSIONS.map(() => new Map<string, BreakdownEntrySnapshot>())
        const pageviews = CLICK_DIMENSIONS.map(() => 0)
        for (const state of states) {
          const [, dimension, value] = keyParts(state.key)
          const index = CLICK_DIMENSIONS.indexOf(dimension as (typeof CLICK_DIMENSIONS)[number])
          if (index < 0 || value === undefined) throw new Error(`breakdown checkpoint holds an unknown dimension in key ${JSON.stringify(state.key)}`)
          const [count, { items: visitors }] = state.accumulators as [number, DistinctItems]
          byDimension[index]!.set(value, { count, dirty: state.dirty, distinct: visitors })
          pageviews[index]! += count
        }
        // Every pageview counted once in each dimension: the state's event count is any
        // dimension's total, the largest in case some value had been refused at a state limit.
        return { events: Math.max(...pageviews), write: (writer) => writeBreakdownEntries(byDimension, writer) }
      },
    })
  } catch (error) {
    return { ok: false, reason: `breakdown checkpoint: ${(error as Error).message}` }
  }
  return operator.restore(converted ?? bytes)
}
