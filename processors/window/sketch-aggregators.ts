import { HyperLogLog } from '../sketches/hyperloglog.ts'
import { QuantileSketch } from '../sketches/quantile-sketch.ts'
import { SpaceSaving, type TopItem } from '../sketches/top-k.ts'
import type { Aggregator } from './types.ts'

/** Sketch-backed aggregators: approximate distinct (HLL), quantiles (DDSketch), top-k (space-saving). */

export function approxDistinct<In>(
  value: (event: In) => string,
  options: { precision?: number } = {},
): Aggregator<In, HyperLogLog, number> {
  const precision = options.precision ?? 12
  return {
    kind: `approx-distinct:${precision}`,
    create: () => new HyperLogLog(precision),
    add: (sketch, event) => {
      sketch.addString(value(event))
      return sketch
    },
    merge: (into, from) => {
      into.merge(from)
      return into
    },
    result: (sketch) => Math.round(sketch.estimate()),
    serialize: (sketch, writer) => sketch.serialize(writer),
    deserialize: (reader) => HyperLogLog.deserialize(reader),
    bytes: (sketch) => sketch.bytes(),
  }
}

/** Result keys are `p50`, `p95`, `p99.9`… for quantiles 0.5, 0.95, 0.999. */
export type QuantileValues = Record<string, number>

export function quantiles<In>(
  value: (event: In) => number,
  points: readonly number[] = [0.5, 0.9, 0.99],
  options: { relativeAccuracy?: number } = {},
): Aggregator<In, QuantileSketch, QuantileValues> {
  const relativeAccuracy = options.relativeAccuracy ?? 0.01
  for (const point of points) {
    if (!(point >= 0 && point <= 1)) throw new RangeError(`quantile must be within 0..1, got ${point}`)
  }
  const names = points.map((point) => `p${Number((point * 100).toPrecision(12))}`)
  return {
    kind: `quantiles:${relativeAccuracy}:${points.join(',')}`,
    create: () => new QuantileSketch(relativeAccuracy),
    add: (sketch, event) => {
      sketch.add(value(event))
      return sketch
    },
    merge: (into, from) => {
      into.merge(from)
      return into
    },
    result: (sketch) => {
      const result: QuantileValues = {}
      for (let index = 0; index < points.length; index++) {
        result[names[index] as string] = sketch.quantile(points[index] as number)
      }
      return result
    },
    serialize: (sketch, writer) => sketch.serialize(writer),
    deserialize: (reader) => QuantileSketch.deserialize(reader),
    bytes: (sketch) => sketch.bytes(),
  }
}

/** Heavy hitters: keeps `capacity` counters (default 4×k) and reports the top `k`. */
export function topK<In>(
  value: (event: In) => string,
  k: number,
  options: { capacity?: number } = {},
): Aggregator<In, SpaceSaving, TopItem[]> {
  const capacity = options.capacity ?? k * 4
  return {
    kind: `top-k:${k}:${capacity}`,
    create: () => new SpaceSaving(capacity),
    add: (sketch, event) => {
      sketch.add(value(event))
      return sketch
    },
    merge: (into, from) => {
      into.merge(from)
      return into
    },
    result: (sketch) => sketch.top(k),
    serialize: (sketch, writer) => sketch.serialize(writer),
    deserialize: (reader) => SpaceSaving.deserialize(reader),
    bytes: (sketch) => sketch.bytes(),
  }
}
