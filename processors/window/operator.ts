import { AlignedWindows } from './aligned-windows.ts'
import { ByteReader, ByteWriter, SnapshotFormatError } from '../state/bytes.ts'
import { SessionWindows } from './session-windows.ts'
import type {
  AggregateSpec,
  AggregateValues,
  Emission,
  OperatorStats,
  PartitionId,
  RestoreResult,
  StateLimits,
  WindowAssigner,
  WindowSpec,
} from './types.ts'
import { WatermarkTracker } from './watermarks.ts'
import { StateContext } from './window-state.ts'
import { FORMAT_VERSION, WHOLE_FORMAT_VERSION } from './formats.ts'

/**
 * The event-time window operator. One instance per job instance; it may read several partitions.
 * Calls are synchronous and pure apart from the operator's own state: the same sequence of calls
 * (partition, events, nowMs) yields byte-identical emissions, and so does a restored snapshot.
 */

export const MAGIC = 0x4e574445 // "EDWN" little-endian
export { FORMAT_VERSION, WHOLE_FORMAT_VERSION } from './formats.ts'

/** What a snapshot must have been taken with to restore: the assigner and the aggregates' names and kinds. */
export function fingerprintOf(spec: { readonly assigner: WindowAssigner; readonly aggregates: Readonly<Record<string, { readonly kind: string }>> }): string {
  return JSON.stringify({
    assigner: spec.assigner,
    aggregates: Object.entries(spec.aggregates).map(([name, aggregator]) => [name, aggregator.kind]),
  })
}

export const defaultLimits: StateLimits = Object.freeze({
  maxKeysPerWindow: 1_000_000,
  maxStateBytes: 256 * 1024 * 1024,
})

interface Store<In, Values> {
  readonly nextTimer: number
  readonly windows: number
  readonly keys: number
  readonly spilledBytes: number
  add(event: In, key: string, time: number, watermark: number, out: Emission<In, Values>[]): void
  advance(watermark: number, out: Emission<In, Values>[]): void
  snapshot(writer: ByteWriter): void
  restore(reader: ByteReader, format: number, watermark: number): void
  changes(into: Map<string, Uint8Array | null>, watermark: number): void
}

function nonNegative(name: string, value: number): void {
  if (!(value >= 0)) throw new RangeError(`${name} must be >= 0, got ${value}`)
}

export class WindowOperator<In, Aggregates extends AggregateSpec<In>> {
  private readonly spec: WindowSpec<In, Aggregates>
  private readonly limits: StateLimits
  private readonly fingerprint: string
  private context!: StateContext<In>
  private store!: Store<In, AggregateValues<Aggregates>>
  private tracker!: WatermarkTracker
  private nextEarlyAt = -Infinity

  constructor(spec: WindowSpec<In, Aggregates>) {
    nonNegative('outOfOrdernessMs', spec.outOfOrdernessMs)
    nonNegative('allowedLatenessMs', spec.allowedLatenessMs)
    nonNegative('idleTimeoutMs', spec.idleTimeoutMs)
    if (spec.earlyFiringMs !== undefined && !(spec.earlyFiringMs > 0)) {
      throw new RangeError('earlyFiringMs must be positive when set')
    }
    if (Object.keys(spec.aggregates).length === 0) throw new RangeError('a window needs at least one aggregate')
    this.spec = spec
    this.limits = Object.freeze({ ...defaultLimits, ...spec.limits })
    this.fingerprint = fingerprintOf(spec)
    this.reset()
  }

  private reset(): void {
    const spec = this.spec
    this.context = new StateContext<In>(spec.aggregates, this.limits, spec.earlyFiringMs !== undefined)
    this.tracker = new WatermarkTracker(spec.outOfOrdernessMs, spec.idleTimeoutMs)
    const assigner = spec.assigner
    this.store =
      assigner.type === 'session'
        ? new SessionWindows(this.context, assigner.gapMs, spec.allowedLatenessMs, spec.storage)
        : new AlignedWindows(
            this.context,
            assigner.sizeMs,
            assigner.type === 'tumbling' ? assigner.sizeMs : assigner.slideMs,
            assigner.offsetMs,
            spec.allowedLatenessMs,
            spec.storage,
          )
    this.nextEarlyAt = -Infinity
  }

  get watermark(): number {
    return this.tracker.watermark
  }

  /** Events of one partition, in that partition's order. `nowMs` is the injected processing time. */
  process(partition: PartitionId, events: readonly In[], nowMs: number): Emission<In, AggregateValues<Aggregates>>[] {
    const out: Emission<In, AggregateValues<Aggregates>>[] = []
    if (this.tracker.tick(nowMs)) this.fire(out)
    const tracker = this.tracker
    const clock = tracker.activate(partition, events.length > 0)
    const store = this.store
    const timeOf = this.spec.time
    const keyOf = this.spec.key
    for (let index = 0; index < events.length; index++) {
      const event = events[index] as In
      const time = timeOf(event)
      if (typeof time !== 'number' || !Number.isFinite(time)) {
        this.context.counters.invalid++
        out.push({ kind: 'invalid', event, reason: 'invalid-event-time' })
        continue
      }
      const key = keyOf(event)
      if (typeof key !== 'string') {
        this.context.counters.invalid++
        out.push({ kind: 'invalid', event, reason: 'invalid-key' })
        continue
      }
      // The watermark moves per event, so how a partition's stream is cut into batches never
      // changes which events count as late. It moves before the event is added so that windows it
      // closes free their state first; the event itself can never be late by its own progress
      // (its window ends after its time, and the watermark is at most its time − out-of-orderness).
      if (time > clock.maxEventTime && tracker.observe(clock, time) && tracker.watermark >= store.nextTimer) {
        store.advance(tracker.watermark, out)
      }
      store.add(event, key, time, tracker.watermark, out)
    }
    this.context.flushLate(out)
    return out
  }

  /** Processing-time progress: idle partitions and early (provisional) firings. */
  onProcessingTime(nowMs: number): Emission<In, AggregateValues<Aggregates>>[] {
    const out: Emission<In, AggregateValues<Aggregates>>[] = []
    if (this.tracker.tick(nowMs)) this.fire(out)
    const every = this.spec.earlyFiringMs
    const now = this.tracker.now
    if (every !== undefined && now >= this.nextEarlyAt) {
      this.context.flushEarly(out)
      this.nextEarlyAt = (Math.floor(now / every) + 1) * every
    }
    return out
  }

  /** End of a bounded input (backfill, tests): the watermark jumps to +Infinity and all state fires. */
  endOfInput(nowMs: number): Emission<In, AggregateValues<Aggregates>>[] {
    const out: Emission<In, AggregateValues<Aggregates>>[] = []
    this.tracker.tick(nowMs)
    this.tracker.end()
    this.fire(out)
    return out
  }

  private fire(out: Emission<In, AggregateValues<Aggregates>>[]): void {
    if (this.tracker.watermark >= this.store.nextTimer) this.store.advance(this.tracker.watermark, out)
    this.context.flushLate(out)
  }

  stats(): OperatorStats {
    return {
      ...this.context.counters,
      watermark: this.tracker.watermark,
      // The heap's share: fired windows on disk count in the bound (totalBytes), not here.
      stateBytes: this.context.totalBytes - this.store.spilledBytes,
      windows: this.store.windows,
      keys: this.store.keys,
    }
  }

  /** Hands a checkpoint the state store entries changed since the last one (windows and sessions moved to disk, read back or purged). */
  changes(into: Map<string, Uint8Array | null>): void {
    this.store.changes(into, this.tracker.watermark)
  }

  /** Versioned bytes: header, spec fingerprint, watermarks, timers, counters, then every state sorted. */
  snapshot(): Uint8Array {
    const writer = new ByteWriter()
    writer.u32(MAGIC)
    writer.u8(FORMAT_VERSION)
    writer.string(this.fingerprint)
    this.tracker.snapshot(writer)
    writer.f64(this.nextEarlyAt)
    const counters = this.context.counters
    writer.f64(counters.late)
    writer.f64(counters.overflowKeysPerWindow)
    writer.f64(counters.overflowStateBytes)
    writer.f64(counters.invalid)
    writer.f64(counters.retractions)
    this.store.snapshot(writer)
    return writer.finish()
  }

  /** Replaces all state with a snapshot's. On failure the operator is left empty, never half-restored. */
  restore(bytes: Uint8Array): RestoreResult {
    this.reset()
    try {
      const reader = new ByteReader(bytes)
      if (reader.u32() !== MAGIC) return { ok: false, reason: 'not a window operator snapshot' }
      const version = reader.u8()
      if (version < WHOLE_FORMAT_VERSION || version > FORMAT_VERSION) return { ok: false, reason: `unsupported snapshot version ${version}` }
      const fingerprint = reader.string()
      if (fingerprint !== this.fingerprint) {
        return { ok: false, reason: 'snapshot was taken with a different assigner or aggregates' }
      }
      this.tracker.restore(reader)
      this.nextEarlyAt = reader.f64()
      const counters = this.context.counters
      counters.late = reader.f64()
      counters.overflowKeysPerWindow = reader.f64()
      counters.overflowStateBytes = reader.f64()
      counters.invalid = reader.f64()
      counters.retractions = reader.f64()
      this.store.restore(reader, version, this.tracker.watermark)
      if (!reader.done()) throw new SnapshotFormatError('trailing bytes after snapshot')
      return { ok: true }
    } catch (error) {
      this.reset()
      return { ok: false, reason: error instanceof Error ? error.message : String(error) }
    }
  }
}

export function createWindowOperator<In, Aggregates extends AggregateSpec<In>>(
  spec: WindowSpec<In, Aggregates>,
): WindowOperator<In, Aggregates> {
  return new WindowOperator(spec)
}
