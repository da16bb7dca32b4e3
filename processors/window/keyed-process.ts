import { ByteReader, ByteWriter, SnapshotFormatError, compareStrings } from '../state/bytes.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import { KeyedStateCache } from './keyed-state-cache.ts'
import { compareTimers, TimerQueue, type Timer, type TimerDomain } from './timer-queue.ts'
import type { OperatorStorage, PartitionId, RestoreResult } from './types.ts'
import { WatermarkTracker } from './watermarks.ts'

export type { Timer, TimerDomain } from './timer-queue.ts'

/**
 * A keyed process function with event-time and processing-time timers: the lower-level building
 * block for logic windows cannot express, such as "a notification sent but not delivered within
 * 10 minutes". Same watermark rules, same determinism and checkpoint guarantees as the windows.
 * Timers are unique per (key, domain, time, tag); those due together fire in (time, key, tag) order,
 * and a callback may set further timers, which fire in the same pass if already due.
 *
 * States and timers live in the partition's state store (keyed-state-cache.ts, timer-queue.ts):
 * the heap holds the hottest keys and what changed since the last checkpoint, which `changes`
 * hands to the next one; the snapshot keeps only the watermarks and two counts.
 */

export interface KeyedContext<State, Out> {
  readonly key: string
  readonly watermark: number
  readonly now: number
  /** This key's state; assign undefined to clear it. */
  state: State | undefined
  emit(output: Out): void
  setTimer(domain: TimerDomain, time: number, tag?: string): void
  deleteTimer(domain: TimerDomain, time: number, tag?: string): void
}

export interface KeyedProcessSpec<In, State, Out> {
  readonly key: (event: In) => string
  readonly time: (event: In) => number
  readonly outOfOrdernessMs: number
  readonly idleTimeoutMs: number
  readonly processEvent: (event: In, context: KeyedContext<State, Out>) => void
  readonly onTimer: (timer: Timer, context: KeyedContext<State, Out>) => void
  /** Writes one key's state into the snapshot (the operator frames it). */
  readonly serializeState: (state: State, writer: ByteWriter) => void
  /** Reads one key's state; the reader holds exactly what `serializeState` wrote. */
  readonly deserializeState: (reader: ByteReader) => State
  /** Roughly how many heap bytes one key's state takes (heap-size.ts), for `stats().stateBytes`. */
  readonly stateBytes: (state: State) => number
}

export interface KeyedProcessStats {
  readonly keys: number
  readonly timers: number
  /** Estimated heap bytes of the cached states, the changes waiting for a checkpoint and the timers set since it. */
  readonly stateBytes: number
}

export type KeyedEmission<In, Out> =
  | { readonly kind: 'output'; readonly value: Out }
  | { readonly kind: 'invalid'; readonly event: In; readonly reason: 'invalid-event-time' | 'invalid-key' }
  | { readonly kind: 'failed'; readonly event: In; readonly reason: string }

const MAGIC = 0x504b4445 // "EDKP"
/** Every state and timer in the snapshot: what releases before the state store wrote. */
const WHOLE_FORMAT = 1
/** Watermarks and counts in the snapshot, states and timers in the store. */
const STORE_FORMAT = 2

export class KeyedProcessOperator<In, State, Out> {
  private readonly states: KeyedStateCache<State>
  private readonly timers: TimerQueue
  private tracker: WatermarkTracker
  private out: KeyedEmission<In, Out>[] = []
  private readonly context: KeyedContext<State, Out> & { key: string }

  /** Without `storage`, a store of its own in the heap (tests, and operators used alone). */
  constructor(
    private readonly spec: KeyedProcessSpec<In, State, Out>,
    storage: OperatorStorage = { store: createHeapStateStore().partition('keyed', 0), prefix: '' },
  ) {
    this.states = new KeyedStateCache(storage.store, `${storage.prefix}s/`, { write: spec.serializeState, read: spec.deserializeState, heapBytes: spec.stateBytes })
    this.timers = new TimerQueue(storage.store, storage.prefix)
    this.tracker = new WatermarkTracker(spec.outOfOrdernessMs, spec.idleTimeoutMs)
    const operator = this
    // Accessors and arrow functions read `operator.context.key`, so handlers may destructure the context.
    this.context = {
      key: '',
      get watermark() {
        return operator.tracker.watermark
      },
      get now() {
        return operator.tracker.now
      },
      get state() {
        return operator.states.get(operator.context.key)
      },
      set state(value: State | undefined) {
        operator.states.set(operator.context.key, value)
      },
      emit: (value) => operator.out.push({ kind: 'output', value }),
      setTimer: (domain, time, tag = '') => operator.timers.set(operator.context.key, domain, time, tag),
      deleteTimer: (domain, time, tag = '') => operator.timers.delete(operator.context.key, domain, time, tag),
    }
  }

  get watermark(): number {
    return this.tracker.watermark
  }

  process(partition: PartitionId, events: readonly In[], nowMs: number): KeyedEmission<In, Out>[] {
    this.out = []
    this.tracker.tick(nowMs)
    this.fireDue()
    const clock = this.tracker.activate(partition, events.length > 0)
    for (const event of events) {
      const time = this.spec.time(event)
      if (typeof time !== 'number' || !Number.isFinite(time)) {
        this.out.push({ kind: 'invalid', event, reason: 'invalid-event-time' })
        continue
      }
      const key = this.spec.key(event)
      if (typeof key !== 'string') {
        this.out.push({ kind: 'invalid', event, reason: 'invalid-key' })
        continue
      }
      this.context.key = key
      try {
        this.spec.processEvent(event, this.context)
      } catch (error) {
        this.out.push({ kind: 'failed', event, reason: error instanceof Error ? error.message : String(error) })
      }
      if (this.tracker.observe(clock, time)) this.fireDue()
    }
    this.states.trim()
    return this.out
  }

  onProcessingTime(nowMs: number): KeyedEmission<In, Out>[] {
    this.out = []
    this.tracker.tick(nowMs)
    this.fireDue()
    this.states.trim()
    return this.out
  }

  /** End of a bounded input: every event-time timer is due. */
  endOfInput(nowMs: number): KeyedEmission<In, Out>[] {
    this.out = []
    this.tracker.tick(nowMs)
    this.tracker.end()
    this.fireDue()
    this.states.trim()
    return this.out
  }

  get pendingTimers(): number {
    return this.timers.count
  }

  stats(): KeyedProcessStats {
    return { keys: this.states.size, timers: this.timers.count, stateBytes: this.states.heapBytes() + this.timers.heapBytes() }
  }

  /** How the cache of decoded states does: its estimated heap, and lookups it answered or left to the store. */
  cacheStats(): { cacheBytes: number; cacheHits: number; cacheMisses: number } {
    return { cacheBytes: this.states.heapBytes(), cacheHits: this.states.hits, cacheMisses: this.states.misses }
  }

  /** Hands the states and timers changed since the last call to a checkpoint, as state store entries. */
  changes(into: Map<string, Uint8Array | null>): void {
    this.states.changes(into)
    this.timers.changes(into)
  }

  private fireDue(): void {
    // Called whenever the watermark moves, which is most events: nothing is due far more often
    // than something is, and that case allocates nothing.
    const timers = this.timers
    while (timers.nextDue('event') <= this.tracker.watermark || timers.nextDue('processing') <= this.tracker.now) {
      const due: Timer[] = []
      timers.collect('event', this.tracker.watermark, due)
      timers.collect('processing', this.tracker.now, due)
      if (due.length === 0) return
      if (due.length > 1) due.sort((left, right) => compareTimers(left, right) || compareStrings(left.domain, right.domain))
      for (const timer of due) {
        this.context.key = timer.key
        this.spec.onTimer(timer, this.context)
      }
    }
  }

  snapshot(): Uint8Array {
    const writer = new ByteWriter(64)
    writer.u32(MAGIC)
    writer.u8(STORE_FORMAT)
    this.tracker.snapshot(writer)
    writer.f64(this.states.size)
    writer.f64(this.timers.count)
    return writer.finish()
  }

  /**
   * The watermarks and counts; states and timers are the store's. A snapshot from before the store
   * (every state and timer inside) restores too: they become changes, which the next checkpoint writes.
   */
  restore(bytes: Uint8Array): RestoreResult {
    this.tracker = new WatermarkTracker(this.spec.outOfOrdernessMs, this.spec.idleTimeoutMs)
    try {
      const reader = new ByteReader(bytes)
      if (reader.u32() !== MAGIC) return this.failRestore('not a keyed process snapshot')
      const format = reader.u8()
      if (format !== WHOLE_FORMAT && format !== STORE_FORMAT) return this.failRestore('unsupported snapshot version')
      this.tracker.restore(reader)
      if (format === STORE_FORMAT) {
        const keys = reader.f64()
        const timers = reader.f64()
        if (!reader.done()) throw new SnapshotFormatError('trailing bytes after snapshot')
        this.states.reset(keys)
        this.timers.reset(timers)
        return { ok: true }
      }
      this.states.reset(0)
      this.timers.reset(0)
      for (let remaining = reader.u32(); remaining > 0; remaining--) {
        const key = reader.string()
        // Set as a change: the next checkpoint writes it to the store.
        this.states.set(key, reader.section((section) => this.spec.deserializeState(section)))
      }
      for (let remaining = reader.u32(); remaining > 0; remaining--) {
        const key = reader.string()
        const domain: TimerDomain = reader.u8() === 0 ? 'event' : 'processing'
        const time = reader.f64()
        const tag = reader.string()
        this.timers.set(key, domain, time, tag)
      }
      if (!reader.done()) throw new SnapshotFormatError('trailing bytes after snapshot')
      this.states.trim()
      return { ok: true }
    } catch (error) {
      return this.failRestore(error instanceof Error ? error.message : String(error))
    }
  }

  private failRestore(reason: string): RestoreResult {
    this.states.reset(0)
    this.timers.reset(0)
    this.tracker = new WatermarkTracker(this.spec.outOfOrdernessMs, this.spec.idleTimeoutMs)
    return { ok: false, reason }
  }
}
