import { ByteReader, ByteWriter, compareStrings } from '../state/bytes.ts'
import { lastWindowStart } from './assigners.ts'
import type { Emission } from './types.ts'
import type { StateContext, WindowState } from './window-state.ts'

/**
 * State for tumbling and hopping windows: a Map by window start, then a Map by key. Windows are
 * few (about (out-of-orderness + lateness) / slide) and keys many, so timers are per window: the
 * store remembers the earliest window end or cleanup time and does nothing until the watermark
 * reaches it.
 */

interface Bucket {
  readonly start: number
  readonly end: number
  readonly keys: Map<string, WindowState>
  fired: boolean
}

/** Map and object overhead of one window, charged to the state bound with its first key. */
const BUCKET_BYTES = 256

export class AlignedWindows<In, Values> {
  private readonly buckets = new Map<number, Bucket>()
  /** Earliest watermark at which some window fires or is purged. */
  nextTimer = Infinity
  private keyCount = 0

  constructor(
    private readonly context: StateContext<In>,
    private readonly sizeMs: number,
    private readonly slideMs: number,
    private readonly offsetMs: number,
    private readonly allowedLatenessMs: number,
  ) {}

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
    if (state === undefined) {
      const reason = context.admitNew(key, bucket === undefined ? 0 : bucket.keys.size, bucket === undefined ? BUCKET_BYTES : 0)
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
    const bucket: Bucket = { start, end, keys: new Map(), fired: end <= watermark }
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
    this.keyCount -= bucket.keys.size
    this.context.totalBytes -= BUCKET_BYTES
    this.buckets.delete(bucket.start)
  }

  snapshot(writer: ByteWriter): void {
    const buckets = [...this.buckets.values()].sort((left, right) => left.start - right.start)
    writer.u32(buckets.length)
    for (const bucket of buckets) {
      writer.f64(bucket.start)
      writer.f64(bucket.end)
      writer.bool(bucket.fired)
      const keys = [...bucket.keys.keys()].sort(compareStrings)
      writer.u32(keys.length)
      for (const key of keys) {
        writer.string(key)
        this.context.writeState(writer, bucket.keys.get(key) as WindowState)
      }
    }
  }

  restore(reader: ByteReader): void {
    this.buckets.clear()
    this.keyCount = 0
    this.nextTimer = Infinity
    for (let remaining = reader.u32(); remaining > 0; remaining--) {
      const start = reader.f64()
      const end = reader.f64()
      const bucket: Bucket = { start, end, keys: new Map(), fired: reader.bool() }
      this.buckets.set(start, bucket)
      this.context.totalBytes += BUCKET_BYTES
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
