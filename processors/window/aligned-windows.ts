import { ByteReader, ByteWriter, compareStrings } from '../state/bytes.ts'
import { sortableDouble } from '../state/key-order.ts'
import { lastWindowStart } from './assigners.ts'
import type { Emission, OperatorStorage } from './types.ts'
import type { StateContext, WindowState } from './window-state.ts'

/**
 * State for tumbling and hopping windows: a Map by window start, then a Map by key. Windows are
 * few (about (out-of-orderness + lateness) / slide) and keys many, so timers are per window: the
 * store remembers the earliest window end or cleanup time and does nothing until the watermark
 * reaches it.
 *
 * With a state store, a window that fired leaves the heap at the next checkpoint: its states are
 * written to `<prefix>w/<start>/<key>` and read back only for a late event, until the allowed
 * lateness passes and the window is purged with its entries. Most of the lateness (ten minutes
 * against one of open windows, by default) is then on disk. What is in the heap or on disk never
 * changes a decision: the state bound counts both.
 */

interface Bucket {
  readonly start: number
  readonly end: number
  readonly keys: Map<string, WindowState>
  fired: boolean
  /** Some state of this window was written to the store (the purge deletes what is there). */
  stored: boolean
  /** States on disk only, and their bytes (counted in the state bound all the same). */
  spilledKeys: number
  spilledBytes: number
}

/** Map and object overhead of one window, charged to the state bound with its first key. */
const BUCKET_BYTES = 256

export class AlignedWindows<In, Values> {
  private readonly buckets = new Map<number, Bucket>()
  /** Earliest watermark at which some window fires or is purged. */
  nextTimer = Infinity
  private keyCount = 0
  private spilled = 0
  /** Entries of purged windows, deleted by the next checkpoint. */
  private purgedEntries: string[] = []
  private readonly writer = new ByteWriter(256)

  constructor(
    private readonly context: StateContext<In>,
    private readonly sizeMs: number,
    private readonly slideMs: number,
    private readonly offsetMs: number,
    private readonly allowedLatenessMs: number,
    private readonly storage?: OperatorStorage,
  ) {}

  /** Bytes of state on disk rather than in the heap. */
  get spilledBytes(): number {
    return this.spilled
  }

  get windows(): number {
    return this.buckets.size
  }

  get keys(): number {
    return this.keyCount
  }

  add(event: In, key: string, time: number, watermark: number, out: Emission<In, Values>[]): void {
    const size = this.sizeMs
    const lowest = time - size
    for (let start = lastWindowStart(time, this.slideMs, this.offsetMs); start > lowest; start -= this.slideMs) {
      this.addToWindow(event, key, time, start, start + size, watermark, out)
    }
  }

  private addToWindow(
    event: In,
    key: string,
    time: number,
    start: number,
    end: number,
    watermark: number,
    out: Emission<In, Values>[],
  ): void {
    const context = this.context
    if (end + this.allowedLatenessMs <= watermark) {
      context.counters.late++
      out.push({
        kind: 'late',
        event,
        reason: 'beyond-allowed-lateness',
        latenessMs: watermark - time,
        windowStart: start,
        windowEnd: end,
        watermark,
      })
      return
    }
    let bucket = this.buckets.get(start)
    let state = bucket === undefined ? undefined : bucket.keys.get(key)
    if (state === undefined && bucket !== undefined && bucket.spilledKeys > 0) state = this.readBack(bucket, key)
    if (state === undefined) {
      const reason = context.admitNew(key, bucket === undefined ? 0 : bucket.keys.size + bucket.spilledKeys, bucket === undefined ? BUCKET_BYTES : 0)
      if (reason !== null) {
        out.push({ kind: 'overflow', event, reason, key, windowStart: start, windowEnd: end })
        return
      }
      if (bucket === undefined) bucket = this.openBucket(start, end, watermark)
      state = context.create(key, start, end, bucket.fired)
      bucket.keys.set(key, state)
      this.keyCount++
    } else if (context.hasVariableSize) {
      const reason = context.admitUpdate()
      if (reason !== null) {
        out.push({ kind: 'overflow', event, reason, key, windowStart: start, windowEnd: end })
        return
      }
    }
    context.apply(state, event)
  }

  private openBucket(start: number, end: number, watermark: number): Bucket {
    // A window opened after the watermark passed its end (a late event within the lateness)
    // never gets an on-time firing: its rows are late firings.
    const bucket: Bucket = { start, end, keys: new Map(), fired: end <= watermark, stored: false, spilledKeys: 0, spilledBytes: 0 }
    this.buckets.set(start, bucket)
    this.context.totalBytes += BUCKET_BYTES
    const due = bucket.fired ? end + this.allowedLatenessMs : end
    if (due < this.nextTimer) this.nextTimer = due
    return bucket
  }

  /** Fires windows whose end the watermark passed, then purges those past the allowed lateness. */
  advance(watermark: number, out: Emission<In, Values>[]): void {
    if (watermark < this.nextTimer) return
    const lateness = this.allowedLatenessMs
    const due: Bucket[] = []
    for (const bucket of this.buckets.values()) {
      if ((!bucket.fired && bucket.end <= watermark) || bucket.end + lateness <= watermark) due.push(bucket)
    }
    due.sort((left, right) => left.end - right.end || left.start - right.start)
    for (const bucket of due) {
      if (!bucket.fired) this.fire(bucket, out)
      if (bucket.end + lateness <= watermark) this.purge(bucket, out)
    }
    let next = Infinity
    for (const bucket of this.buckets.values()) {
      const time = bucket.fired ? bucket.end + lateness : bucket.end
      if (time < next) next = time
    }
    this.nextTimer = next
    this.context.compactEarly(this.keyCount)
  }

  private fire(bucket: Bucket, out: Emission<In, Values>[]): void {
    bucket.fired = true
    const keys = [...bucket.keys.keys()].sort(compareStrings)
    for (const key of keys) {
      const state = bucket.keys.get(key) as WindowState
      state.fired = true
      this.context.emit(state, 'final', out)
    }
  }

  private purge(bucket: Bucket, out: Emission<In, Values>[]): void {
    const pending: WindowState[] = []
    for (const state of bucket.keys.values()) {
      if (state.dirty) pending.push(state)
      this.context.release(state)
    }
    // Late updates not yet flushed must still reach the sink before the state disappears.
    pending.sort((left, right) => compareStrings(left.key, right.key))
    for (const state of pending) this.context.emit(state, 'late', out)
    this.keyCount -= bucket.keys.size + bucket.spilledKeys
    this.context.totalBytes -= BUCKET_BYTES + bucket.spilledBytes
    this.spilled -= bucket.spilledBytes
    if (bucket.stored) for (const { key } of this.storage!.store.range(this.bucketPrefix(bucket.start))) this.purgedEntries.push(key)
    this.buckets.delete(bucket.start)
  }

  /** A state of a fired window read back from the store for a late event; it stays in the heap until the next checkpoint. */
  private readBack(bucket: Bucket, key: string): WindowState | undefined {
    const bytes = this.storage!.store.get(this.stateKey(bucket.start, key))
    if (bytes === undefined) return undefined
    const state = this.context.readState(new ByteReader(bytes), key, false)
    bucket.keys.set(key, state)
    bucket.spilledKeys--
    bucket.spilledBytes -= state.bytes
    this.spilled -= state.bytes
    return state
  }

  /**
   * Hands a checkpoint the windows purged since the last one (their entries deleted) and the
   * states of fired windows still in the heap (written, and let go of: a late event reads one back).
   */
  changes(into: Map<string, Uint8Array | null>): void {
    if (this.storage === undefined) return
    for (const key of this.purgedEntries) into.set(key, null)
    this.purgedEntries = []
    for (const bucket of this.buckets.values()) {
      if (!bucket.fired || bucket.keys.size === 0) continue
      for (const [key, state] of bucket.keys) {
        // Late changes are flushed at the end of every call, so a fired state is clean here.
        if (state.dirty) continue
        this.writer.reset()
        this.context.writeState(this.writer, state)
        into.set(this.stateKey(bucket.start, key), this.writer.finish())
        bucket.keys.delete(key)
        bucket.spilledKeys++
        bucket.spilledBytes += state.bytes
        this.spilled += state.bytes
        bucket.stored = true
      }
    }
  }

  private bucketPrefix(start: number): string {
    return `${this.storage!.prefix}w/${sortableDouble(start)}/`
  }

  private stateKey(start: number, key: string): string {
    return this.bucketPrefix(start) + key
  }

  snapshot(writer: ByteWriter): void {
    const buckets = [...this.buckets.values()].sort((left, right) => left.start - right.start)
    writer.u32(buckets.length)
    for (const bucket of buckets) {
      writer.f64(bucket.start)
      writer.f64(bucket.end)
      writer.bool(bucket.fired)
      writer.bool(bucket.stored)
      writer.f64(bucket.spilledKeys)
      writer.f64(bucket.spilledBytes)
      const keys = [...bucket.keys.keys()].sort(compareStrings)
      writer.u32(keys.length)
      for (const key of keys) {
        writer.string(key)
        this.context.writeState(writer, bucket.keys.get(key) as WindowState)
      }
    }
  }

  /** Restores a snapshot of `format` 2, or of format 1 (every state inside: the heap's until the next checkpoint). */
  restore(reader: ByteReader, format: number, _watermark: number): void {
    this.buckets.clear()
    this.keyCount = 0
    this.spilled = 0
    this.purgedEntries = []
    this.nextTimer = Infinity
    for (let remaining = reader.u32(); remaining > 0; remaining--) {
      const start = reader.f64()
      const end = reader.f64()
      const fired = reader.bool()
      const stored = format >= 2 ? reader.bool() : false
      const spilledKeys = format >= 2 ? reader.f64() : 0
      const spilledBytes = format >= 2 ? reader.f64() : 0
      const bucket: Bucket = { start, end, keys: new Map(), fired, stored, spilledKeys, spilledBytes }
      this.buckets.set(start, bucket)
      this.keyCount += spilledKeys
      this.spilled += spilledBytes
      this.context.totalBytes += BUCKET_BYTES + spilledBytes
      const due = bucket.fired ? end + this.allowedLatenessMs : end
      if (due < this.nextTimer) this.nextTimer = due
      for (let keys = reader.u32(); keys > 0; keys--) {
        const key = reader.string()
        bucket.keys.set(key, this.context.readState(reader, key))
        this.keyCount++
      }
    }
  }
}
