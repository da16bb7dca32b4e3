/**
 * Windowing engine benchmark, one core: events/s for the three job shapes that matter most, and
 * heap at 100,000 live keys. Inputs are built before the clock starts; batches of 1,000 events
 * mirror what the run loop hands the operator per fetch.
 */
import { count, sum } from '../processors/window/aggregators.ts'
import { session, tumbling } from '../processors/window/assigners.ts'
import { WindowOperator } from '../processors/window/operator.ts'
import { approxDistinct, quantiles } from '../processors/window/sketch-aggregators.ts'
import type { AggregateSpec, WindowAssigner } from '../processors/window/types.ts'

interface Click {
  readonly time: number
  readonly key: string
  readonly visitor: string
  readonly latencyMs: number
}

type Progress = (label: string, done: number, total: number) => void

const BATCH = 1_000
const MINUTE = 60_000

/** Deterministic pseudo-random numbers (xorshift32), so every run sees the same stream. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 4294967296
  }
}

/** `total` events over `spanMs` of event time, up to 2 s out of order, keys drawn from `keys`. */
function clicks(total: number, keys: number, spanMs: number, seed: number): Click[] {
  const next = random(seed)
  const names = Array.from({ length: keys }, (_, index) => `key-${index}`)
  const visitors = Array.from({ length: 50_000 }, (_, index) => `visitor-${index}`)
  const events: Click[] = new Array(total)
  for (let index = 0; index < total; index++) {
    events[index] = {
      time: Math.max(0, Math.floor((index / total) * spanMs - next() * 2_000)),
      key: names[Math.floor(next() * keys)] as string,
      visitor: visitors[Math.floor(next() * visitors.length)] as string,
      latencyMs: 1 + next() * next() * 2_000,
    }
  }
  return events
}

function operator<Aggregates extends AggregateSpec<Click>>(assigner: WindowAssigner, aggregates: Aggregates) {
  return new WindowOperator<Click, Aggregates>({
    assigner,
    key: (click) => click.key,
    time: (click) => click.time,
    aggregates,
    outOfOrdernessMs: 5_000,
    allowedLatenessMs: MINUTE,
    idleTimeoutMs: MINUTE,
    limits: { maxKeysPerWindow: 1_000_000, maxStateBytes: 1024 * 1024 * 1024 },
  })
}

const countSum = () => ({ count: count<Click>(), latency: sum<Click>((click) => click.latencyMs) })
const withSketches = () => ({
  ...countSum(),
  visitors: approxDistinct<Click>((click) => click.visitor),
  latencyQuantiles: quantiles<Click>((click) => click.latencyMs, [0.5, 0.95, 0.99]),
})

/**
 * Events per second for a full pass (every firing and purge included), after a warm-up pass. The
 * best of `passes` is reported: on a shared machine the slower passes measure the neighbours.
 */
function throughput(
  label: string,
  make: () => WindowOperator<Click, AggregateSpec<Click>>,
  events: Click[],
  progress?: Progress,
  passes = 3,
): number {
  return bestRate(label, events.length, (limit) => {
    const windows = make()
    let emitted = 0
    for (let offset = 0; offset < limit; offset += BATCH) {
      emitted += windows.process(0, events.slice(offset, Math.min(limit, offset + BATCH)), offset).length
    }
    return emitted + windows.endOfInput(limit).length
  }, progress, passes)
}

/**
 * The reference for (a): the same events, in the same batches, through a bare loop into a plain
 * Map<string, {count, sum}> per window, each window emitted as rows and dropped once the largest
 * event time is 5 s past its end — the data structure alone, without watermarks per partition,
 * lateness, limits, revisions, dirty tracking or state estimates.
 */
function bareTumblingCountSum(events: Click[], progress?: Progress, passes = 3): number {
  return bestRate('bare loop into a Map<string, {count, sum}> per 1m window', events.length, (limit) => {
    const windows = new Map<number, Map<string, { count: number; sum: number }>>()
    const rows: Array<{ start: number; key: string; count: number; sum: number }> = []
    const fire = (watermark: number) => {
      for (const [start, keys] of windows) {
        if (start + MINUTE > watermark) continue
        for (const [key, { count, sum }] of keys) rows.push({ start, key, count, sum })
        windows.delete(start)
      }
    }
    let maxTime = -Infinity
    for (let offset = 0; offset < limit; offset += BATCH) {
      const end = Math.min(limit, offset + BATCH)
      for (let index = offset; index < end; index++) {
        const click = events[index]!
        const start = click.time - (click.time % MINUTE)
        let keys = windows.get(start)
        if (keys === undefined) windows.set(start, (keys = new Map()))
        const state = keys.get(click.key)
        if (state === undefined) keys.set(click.key, { count: 1, sum: click.latencyMs })
        else {
          state.count++
          state.sum += click.latencyMs
        }
        if (click.time > maxTime) maxTime = click.time
      }
      fire(maxTime - 5_000)
    }
    fire(Infinity)
    return rows.length
  }, progress, passes)
}

/** Runs `pass` once on up to 200,000 events to warm up, then `passes` times on all; events/s of the fastest. */
function bestRate(label: string, total: number, pass: (limit: number) => number, progress?: Progress, passes = 3): number {
  const timed = (limit: number): number => {
    const started = performance.now()
    const emitted = pass(limit)
    const elapsed = performance.now() - started
    if (emitted === 0) throw new Error(`${label}: no output, the benchmark is not measuring anything`)
    return elapsed
  }
  timed(Math.min(total, 200_000)) // let the JIT settle on the hot path
  let best = Infinity
  for (let run = 0; run < passes; run++) {
    progress?.(label, run, passes)
    best = Math.min(best, timed(total))
  }
  progress?.(label, passes, passes)
  return Math.round(total / (best / 1000))
}

function settledHeapBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) {
    gc()
    gc()
  }
  return process.memoryUsage().heapUsed
}

/**
 * Heap growth, in MB, of an operator holding `keys` live keys (one event each, nothing fired),
 * next to the operator's own estimate, which is what its state bound enforces.
 */
function heapAtKeys(assigner: WindowAssigner, aggregates: () => AggregateSpec<Click>, keys: number): [number, number] {
  const events = clicks(keys, 1, MINUTE / 2, 7).map((click, index) => ({ ...click, key: `user-${index}` }))
  const before = settledHeapBytes()
  const windows = operator(assigner, aggregates())
  for (let offset = 0; offset < events.length; offset += BATCH) windows.process(0, events.slice(offset, offset + BATCH), 0)
  const after = settledHeapBytes()
  if (windows.stats().keys !== keys) throw new Error('heap benchmark lost keys')
  const megabytes = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10
  return [megabytes(after - before), megabytes(windows.stats().stateBytes)]
}

export async function benchWindowing(options: { onProgress?: Progress } = {}): Promise<Record<string, number>> {
  const progress = options.onProgress
  const total = 2_000_000
  let events = clicks(total, 1_000, 10 * MINUTE, 1)
  const tumblingCountSum = throughput('tumbling 1m count+sum, 1k keys', () => operator(tumbling(MINUTE), countSum()), events, progress)
  const tumblingCountSumReference = bareTumblingCountSum(events, progress)
  const tumblingSketches = throughput(
    'tumbling 1m count+sum+HLL+quantiles, 1k keys',
    () => operator(tumbling(MINUTE), withSketches()),
    events,
    progress,
  )
  // 100,000 users, ~20 events each over 3 hours: sessions open, merge, fire and are purged.
  events = clicks(total, 100_000, 3 * 60 * MINUTE, 2)
  const sessions = throughput('sessions 30m gap, 100k users', () => operator(session(30 * MINUTE), countSum()), events, progress)
  events = []
  await new Promise((resolve) => setImmediate(resolve))
  progress?.('heap at 100k keys', 0, 3)
  const heapCountSum = heapAtKeys(tumbling(MINUTE), countSum, 100_000)
  progress?.('heap at 100k keys', 1, 3)
  const heapSketches = heapAtKeys(tumbling(MINUTE), withSketches, 100_000)
  progress?.('heap at 100k keys', 2, 3)
  const heapSessions = heapAtKeys(session(30 * MINUTE), countSum, 100_000)
  progress?.('heap at 100k keys', 3, 3)
  return {
    tumblingCountSumEventsPerSec: tumblingCountSum,
    tumblingCountSumReferenceEventsPerSec: tumblingCountSumReference,
    tumblingSketchesEventsPerSec: tumblingSketches,
    sessionsEventsPerSec: sessions,
    heapMbAt100kKeysCountSum: heapCountSum[0],
    estimatedStateMbAt100kKeysCountSum: heapCountSum[1],
    heapMbAt100kKeysSketches: heapSketches[0],
    estimatedStateMbAt100kKeysSketches: heapSketches[1],
    heapMbAt100kKeysSessions: heapSessions[0],
    estimatedStateMbAt100kKeysSessions: heapSessions[1],
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function' ? 1 : 0,
  }
}
