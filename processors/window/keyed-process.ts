import { ByteReader, ByteWriter, SnapshotFormatError, compareStrings } from '../state/bytes.ts'
import { arrayBytes, MAP_ENTRY_BYTES, NUMBER_BYTES, objectBytes, stringBytes } from '../state/heap-size.ts'
import { MinHeap } from '../collections/min-heap.ts'
import type { PartitionId, RestoreResult } from './types.ts'
import { WatermarkTracker } from './watermarks.ts'

/**
 * A keyed process function with event-time and processing-time timers: the lower-level building
 * block for logic windows cannot express, such as "a notification sent but not delivered within
 * 10 minutes". Same watermark rules, same determinism and checkpoint guarantees as the windows.
 * Timers are unique per (key, domain, time, tag); those due together fire in (time, key, tag) order,
 * and a callback may set further timers, which fire in the same pass if already due.
 */

export type TimerDomain = 'event' | 'processing'

export interface Timer {
  readonly key: string
  readonly domain: TimerDomain
  readonly time: number
  readonly tag: string
}

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
  /** Estimated heap bytes of the states, their keys and the timers (pending and deleted-but-queued). */
  readonly stateBytes: number
}

export type KeyedEmission<In, Out> =
  | { readonly kind: 'output'; readonly value: Out }
  | { readonly kind: 'invalid'; readonly event: In; readonly reason: 'invalid-event-time' | 'invalid-key' }
  | { readonly kind: 'failed'; readonly event: In; readonly reason: string }

const MAGIC = 0x504b4445 // "EDKP"
/** States sized per stats() call: summing every one would be O(keys) on the processing thread at each scrape. */
const SAMPLED_STATES = 256
/** A pending timer: its object, its boxed time, its slot in the key's list and in the heap. */
const TIMER_BYTES = objectBytes(5) + NUMBER_BYTES + 8 + 16
/** A key with pending timers: its Map entry and its list. */
const TIMER_LIST_BYTES = MAP_ENTRY_BYTES + arrayBytes(4)
/** A deleted timer's heap slot still holds its object until the time passes. */
const QUEUED_TIMER_BYTES = objectBytes(5) + NUMBER_BYTES + 16
const FORMAT_VERSION = 1

/** Timers a key keeps in a list before they move to a Map by id. */
const LISTED_TIMERS = 16

/** A timer's identity within its key, for keys with many timers. */
function timerId(domain: TimerDomain, time: number, tag: string): string {
  return `${domain}\u0000${time}\u0000${tag}`
}

function findIn(timers: QueuedTimer[] | Map<string, QueuedTimer>, domain: TimerDomain, time: number, tag: string): QueuedTimer | undefined {
  if (!Array.isArray(timers)) return timers.get(timerId(domain, time, tag))
  for (const timer of timers) if (timer.time === time && timer.domain === domain && timer.tag === tag) return timer
  return undefined
}

/**
 * A timer as queued. `live` is cleared when it fires or is deleted: the heap entry stays until its
 * time comes and is skipped then (a timer deleted and set again is a new object, and that one fires).
 */
interface QueuedTimer extends Timer {
  live: boolean
}

function compareTimers(left: Timer, right: Timer): number {
  return left.time - right.time || compareStrings(left.key, right.key) || compareStrings(left.tag, right.tag)
}

export class KeyedProcessOperator<In, State, Out> {
  private readonly states = new Map<string, State>()
  /**
   * Pending timers by key. A key usually has few (a notification's timeout, a visitor's pages),
   * and a short list finds duplicates and deletions without building an id string per timer,
   * which cost more than the rest of setting one. A key with more (a bot's thousand pages within
   * the out-of-orderness) moves to a Map by id, so its timers do not cost a scan each.
   */
  private readonly timers = new Map<string, QueuedTimer[] | Map<string, QueuedTimer>>()
  private timerCount = 0
  private readonly queues = { event: new MinHeap<QueuedTimer>(), processing: new MinHeap<QueuedTimer>() }
  private tracker: WatermarkTracker
  private out: KeyedEmission<In, Out>[] = []
  private readonly context: KeyedContext<State, Out> & { key: string }

  constructor(private readonly spec: KeyedProcessSpec<In, State, Out>) {
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
        if (value === undefined) operator.states.delete(operator.context.key)
        else operator.states.set(operator.context.key, value)
      },
      emit: (value) => operator.out.push({ kind: 'output', value }),
      setTimer: (domain, time, tag = '') => operator.setTimer(operator.context.key, domain, time, tag),
      deleteTimer: (domain, time, tag = '') => {
        const timer = operator.findTimer(operator.context.key, domain, time, tag)
        if (timer) operator.unlist(timer)
      },
    }
  }

  get watermark(): number {
    return this.tracker.watermark
  }

  private findTimer(key: string, domain: TimerDomain, time: number, tag: string): QueuedTimer | undefined {
    const timers = this.timers.get(key)
    return timers === undefined ? undefined : findIn(timers, domain, time, tag)
  }

  private setTimer(key: string, domain: TimerDomain, time: number, tag: string): void {
    const timers = this.timers.get(key)
    if (timers !== undefined && findIn(timers, domain, time, tag)) return
    const timer: QueuedTimer = { key, domain, time, tag, live: true }
    if (timers === undefined) this.timers.set(key, [timer])
    else if (!Array.isArray(timers)) timers.set(timerId(domain, time, tag), timer)
    else if (timers.length < LISTED_TIMERS) timers.push(timer)
    else this.timers.set(key, new Map([...timers, timer].map((each) => [timerId(each.domain, each.time, each.tag), each])))
    this.timerCount++
    this.queues[domain].push(time, timer)
  }

  /** Takes a pending timer off its key's timers (it fired or was deleted); its heap entry is skipped when popped. */
  private unlist(timer: QueuedTimer): void {
    timer.live = false
    this.timerCount--
    const timers = this.timers.get(timer.key)!
    if (Array.isArray(timers)) {
      if (timers.length === 1) this.timers.delete(timer.key)
      else timers.splice(timers.indexOf(timer), 1)
    } else {
      timers.delete(timerId(timer.domain, timer.time, timer.tag))
      if (timers.size === 0) this.timers.delete(timer.key)
    }
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
    return this.out
  }

  onProcessingTime(nowMs: number): KeyedEmission<In, Out>[] {
    this.out = []
    this.tracker.tick(nowMs)
    this.fireDue()
    return this.out
  }

  /** End of a bounded input: every event-time timer is due. */
  endOfInput(nowMs: number): KeyedEmission<In, Out>[] {
    this.out = []
    this.tracker.tick(nowMs)
    this.tracker.end()
    this.fireDue()
    return this.out
  }

  get pendingTimers(): number {
    return this.timerCount
  }

  stats(): KeyedProcessStats {
    let sampled = 0
    let sampledBytes = 0
    for (const [key, state] of this.states) {
      sampledBytes += MAP_ENTRY_BYTES + stringBytes(key) + this.spec.stateBytes(state)
      if (++sampled === SAMPLED_STATES) break
    }
    const keys = this.states.size
    const timers = this.timerCount
    const queued = this.queues.event.size + this.queues.processing.size
    const timerBytes = timers * TIMER_BYTES + this.timers.size * TIMER_LIST_BYTES + Math.max(0, queued - timers) * QUEUED_TIMER_BYTES
    return { keys, timers, stateBytes: Math.round((sampled === 0 ? 0 : (sampledBytes / sampled) * keys) + timerBytes) }
  }

  private fireDue(): void {
    // Called whenever the watermark moves, which is most events: nothing is due far more often
    // than something is, and that case allocates nothing.
    const { event, processing } = this.queues
    while (event.peekPriority() <= this.tracker.watermark || processing.peekPriority() <= this.tracker.now) {
      const due: QueuedTimer[] = []
      this.collect(event, this.tracker.watermark, due)
      this.collect(processing, this.tracker.now, due)
      if (due.length === 0) return
      if (due.length > 1) due.sort((left, right) => compareTimers(left, right) || compareStrings(left.domain, right.domain))
      for (const timer of due) {
        this.context.key = timer.key
        this.spec.onTimer(timer, this.context)
      }
    }
  }

  private collect(queue: MinHeap<QueuedTimer>, until: number, due: QueuedTimer[]): void {
    while (queue.size > 0 && queue.peekPriority() <= until) {
      const timer = queue.pop()!
      if (!timer.live) continue // deleted (or deleted and set again: the newer entry fires)
      this.unlist(timer)
      due.push(timer)
    }
  }

  snapshot(): Uint8Array {
    const writer = new ByteWriter()
    writer.u32(MAGIC)
    writer.u8(FORMAT_VERSION)
    this.tracker.snapshot(writer)
    const keys = [...this.states.keys()].sort(compareStrings)
    writer.u32(keys.length)
    for (const key of keys) {
      writer.string(key)
      const state = this.states.get(key) as State
      writer.section(() => this.spec.serializeState(state, writer))
    }
    const timers = [...this.timers.values()].flatMap((each) => (Array.isArray(each) ? each : [...each.values()])).sort((left, right) => compareStrings(left.domain, right.domain) || compareTimers(left, right))
    writer.u32(timers.length)
    for (const timer of timers) {
      writer.string(timer.key)
      writer.u8(timer.domain === 'event' ? 0 : 1)
      writer.f64(timer.time)
      writer.string(timer.tag)
    }
    return writer.finish()
  }

  restore(bytes: Uint8Array): RestoreResult {
    this.states.clear()
    this.timers.clear()
    this.timerCount = 0
    this.queues.event.clear()
    this.queues.processing.clear()
    this.tracker = new WatermarkTracker(this.spec.outOfOrdernessMs, this.spec.idleTimeoutMs)
    try {
      const reader = new ByteReader(bytes)
      if (reader.u32() !== MAGIC) return { ok: false, reason: 'not a keyed process snapshot' }
      if (reader.u8() !== FORMAT_VERSION) return { ok: false, reason: 'unsupported snapshot version' }
      this.tracker.restore(reader)
      for (let remaining = reader.u32(); remaining > 0; remaining--) {
        const key = reader.string()
        this.states.set(key, reader.section((section) => this.spec.deserializeState(section)))
      }
      for (let remaining = reader.u32(); remaining > 0; remaining--) {
        const key = reader.string()
        const domain: TimerDomain = reader.u8() === 0 ? 'event' : 'processing'
        const time = reader.f64()
        const tag = reader.string()
        this.setTimer(key, domain, time, tag)
      }
      if (!reader.done()) throw new SnapshotFormatError('trailing bytes after snapshot')
      return { ok: true }
    } catch (error) {
      this.states.clear()
      this.timers.clear()
      this.timerCount = 0
      this.queues.event.clear()
      this.queues.processing.clear()
      this.tracker = new WatermarkTracker(this.spec.outOfOrdernessMs, this.spec.idleTimeoutMs)
      return { ok: false, reason: error instanceof Error ? error.message : String(error) }
    }
  }
}
