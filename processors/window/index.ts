export { count, sum, min, max, avg, distinct, type DistinctItems } from './aggregators.ts'
export { approxDistinct, quantiles, topK, type QuantileValues } from './sketch-aggregators.ts'
export { tumbling, hopping, session } from './assigners.ts'
export { WindowOperator, createWindowOperator, defaultLimits } from './operator.ts'
export { dimensionBreakdown, writeBreakdownEntries, type BreakdownEntry, type BreakdownEntrySnapshot } from './breakdown.ts'
export { regroupAlignedSnapshot, type OldState, type Regrouping } from './regroup-snapshot.ts'
export type * from './types.ts'
export {
  KeyedProcessOperator,
  type KeyedContext,
  type KeyedEmission,
  type KeyedProcessSpec,
  type Timer,
  type TimerDomain,
} from './keyed-process.ts'
