import { ByteReader, ByteWriter, compareStrings, SnapshotFormatError } from '../state/bytes.ts'
import { lastWindowStart } from './assigners.ts'
import { SPILLED_WINDOWS_FORMAT_VERSION, STORED_WINDOWS_FORMAT_VERSION } from './formats.ts'
import type { Emission, OperatorStorage } from './types.ts'
import { readWindowStates, WindowRecordKeys, writeNextRecord } from './window-records.ts'
import type { StateContext, WindowState } from './window-state.ts'

/**
 * State for tumbling and hopping windows: a Map by window start, then a Map by key. Windows are
 * few (about (out-of-orderness + lateness) / slide) and keys many, so timers are per window: the
 * store remembers the earliest window end or cleanup time and does nothing until the watermark
 * reaches it.
 *
 * With a state store, every state is kept there as records (window-records.ts): at each
 * checkpoint a state changed since the last one writes what changed, so the cost follows the
 * events, not the size of the open windows (an open minute's visitor sets were most of a
 * clickstream checkpoint). Open windows stay in the heap as well; a window that fired leaves it at
 * the next checkpoint and is read back only for a late event, until the allowed lateness passes
 * and the window is purged with its records. Most of the lateness (ten minutes against one of
 * open windows, by default) is then on disk. What is in the heap or on disk never changes a
 * decision: the state bound counts both.
 */

interface Bucket {
  readonly start: number
  readonly end: number
  /** The window's states in the heap. */
  readonly keys: Map<string, WindowState>
  fired: boolean
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
  /** Records of purged windows, deleted by the next checkpoint. */
  private purgedEntries: string[] = []
  /** States changed since the last checkpoint, each once (WindowState.unsaved). */
  private unsaved: WindowState[] = []
  private readonly writer = new ByteWriter(256)
  private readonly records: WindowRecordKeys | undefined
  private readonly incremental: boolean

  constructor(
    private readonly context: StateContext<In>,
    private readonly sizeMs: number,
    private readonly slideMs: number,
    private readonly offsetMs: number,
    private readonly allowedLatenessMs: number,
    private readonly storage?: OperatorStorage,
  ) {
    this.records = storage === undefined ? undefined : new WindowRecordKeys(storage.prefix)
    this.incremental = context.writesChanges
    if (storage !== undefined) context.onChange = (state) => this.markUnsaved(state)
  }

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
    const bucket: Bucket = { start, end, keys: new Map(), fired: end <= watermark, spilledKeys: 0, spilledBytes: 0 }
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
    if (this.records !== undefined) {
      for (const { key } of this.storage!.store.range(this.records.window(bucket.start))) this.purgedEntries.push(key)
    }
    this.buckets.delete(bucket.start)
  }

  private markUnsaved(state: WindowState): void {
    if (state.unsaved) return
    state.unsaved = true
    this.unsaved.push(state)
  }

  /** A state of a fired window read back from the store for a late event; it stays in the heap until the next checkpoint. */
  private readBack(bucket: Bucket, key: string): WindowState | undefined {
    const state = this.readStored(bucket.start, key, false)
    if (state === undefined) return undefined
    bucket.keys.set(key, state)
    bucket.spilledKeys--
    bucket.spilledBytes -= state.bytes
    this.spilled -= state.bytes
    return state
  }

  /** One state from its records, or undefined if the store has none. */
  private readStored(start: number, key: string, accounted: boolean): WindowState | undefined {
    const records = this.records!
    let state: WindowState | undefined
    for (const read of readWindowStates(this.storage!.store.range(records.state(start, key)), records, start, this.context, accounted)) state = read.state
    return state
  }

  /**
   * Hands a checkpoint the records of the states changed since the last one and the deletions of
   * purged windows, then lets fired windows' states go from the heap (a late event reads one back).
   */
  changes(into: Map<string, Uint8Array | null>): void {
    if (this.records === undefined) return
    for (const key of this.purgedEntries) into.set(key, null)
    this.purgedEntries = []
    const unsaved = this.unsaved
    this.unsaved = []
    for (const state of unsaved) {
      state.unsaved = false
      if (!state.dead) writeNextRecord(state, this.records, this.context, this.incremental, this.writer, into)
    }
    for (const bucket of this.buckets.values()) {
      if (!bucket.fired || bucket.keys.size === 0) continue
      for (const [key, state] of bucket.keys) {
        // Late changes are flushed at the end of every call, so a fired state is clean here.
        if (state.dirty || state.unsaved) continue
        bucket.keys.delete(key)
        bucket.spilledKeys++
        bucket.spilledBytes += state.bytes
        this.spilled += state.bytes
      }
    }
  }

  /**
   * Per window: its bounds and what is on disk only, then the states the store does not hold as
   * they are (all of them without a store: written here), then how many states a restore reads back
   * from the store into the heap, and for a fired window which (an open window's are all of them).
   */
  snapshot(writer: ByteWriter): void {
    const buckets = [...this.buckets.values()].sort((left, right) => left.start - right.start)
    const stored = this.records !== undefined
    writer.u32(buckets.length)
    for (const bucket of buckets) {
      writer.f64(bucket.start)
      writer.f64(bucket.end)
      writer.bool(bucket.fired)
      writer.f64(bucket.spilledKeys)
      writer.f64(bucket.spilledBytes)
      const keys = [...bucket.keys.keys()].sort(compareStrings)
      const inline = keys.filter((key) => !stored || isUnsaved(bucket.keys.get(key)!))
      writer.u32(inline.length)
      for (const key of inline) {
        const state = bucket.keys.get(key)!
        writer.string(key)
        this.context.writeState(writer, state)
        // Writing an accumulator starts its changes over, so its next record must be whole.
        if (state.saved !== null) state.saved.changeBytes = Infinity
      }
      const readBack = stored ? keys.filter((key) => !isUnsaved(bucket.keys.get(key)!)) : []
      writer.u32(readBack.length)
      if (bucket.fired) for (const key of readBack) writer.string(key)
    }
  }

  /**
   * Restores a snapshot of `format` 4, or of an earlier one: every state in the heap inside, and
   * from format 2 fired states whole in the store, which are read and written as records by the
   * next checkpoint.
   */
  restore(reader: ByteReader, format: number, _watermark: number): void {
    this.buckets.clear()
    this.keyCount = 0
    this.spilled = 0
    this.purgedEntries = []
    this.unsaved = []
    this.nextTimer = Infinity
    for (let remaining = reader.u32(); remaining > 0; remaining--) {
      const start = reader.f64()
      const end = reader.f64()
      const fired = reader.bool()
      const legacy = format >= SPILLED_WINDOWS_FORMAT_VERSION && format < STORED_WINDOWS_FORMAT_VERSION ? reader.bool() : false
      const spilledKeys = format >= SPILLED_WINDOWS_FORMAT_VERSION ? reader.f64() : 0
      const spilledBytes = format >= SPILLED_WINDOWS_FORMAT_VERSION ? reader.f64() : 0
      const bucket: Bucket = { start, end, keys: new Map(), fired, spilledKeys, spilledBytes }
      this.buckets.set(start, bucket)
      this.keyCount += spilledKeys
      this.spilled += spilledBytes
      this.context.totalBytes += BUCKET_BYTES + spilledBytes
      const due = bucket.fired ? end + this.allowedLatenessMs : end
      if (due < this.nextTimer) this.nextTimer = due
      const inline: string[] = []
      for (let keys = reader.u32(); keys > 0; keys--) {
        const key = reader.string()
        const state = this.context.readState(reader, key)
        bucket.keys.set(key, state)
        inline.push(key)
        this.keyCount++
        if (this.records !== undefined) this.markUnsaved(state)
      }
      if (format < STORED_WINDOWS_FORMAT_VERSION) {
        if (legacy && this.records !== undefined) this.upgradeLegacy(bucket)
        continue
      }
      const readBack = reader.u32()
      const listed: string[] = []
      if (fired) for (let keys = readBack; keys > 0; keys--) listed.push(reader.string())
      if (readBack > 0 && this.records === undefined) throw new SnapshotFormatError('the snapshot keeps window states in a state store, and the operator has none')
      if (this.records !== undefined && readBack + inline.length > 0) this.readBackRestored(bucket, readBack, fired ? [...listed, ...inline] : [])
    }
  }

  /**
   * Reads the fired states a release before the records kept whole (`w/<start>/<key>`) into the
   * heap, to be written as records and let go of by the next checkpoint, which deletes the old
   * entries: an upgrade costs one read of the fired windows, and then nothing knows the old layout.
   */
  private upgradeLegacy(bucket: Bucket): void {
    const prefix = this.records!.legacyWindow(bucket.start)
    for (const { key: entry, value } of this.storage!.store.range(prefix)) {
      this.purgedEntries.push(entry)
      const key = entry.slice(prefix.length)
      // A state read back and changed again is in the heap, newer than its entry.
      if (bucket.keys.has(key)) continue
      const state = this.context.readState(new ByteReader(value), key, false)
      this.markUnsaved(state)
      bucket.keys.set(key, state)
      bucket.spilledKeys--
      bucket.spilledBytes -= state.bytes
      this.spilled -= state.bytes
    }
  }

  /**
   * The states a snapshot left in the store for the heap: an open window's all, a fired one's
   * listed; and the records of states the snapshot holds itself, which the next record replaces.
   */
  private readBackRestored(bucket: Bucket, expected: number, listed: readonly string[]): void {
    const records = this.records!
    const store = this.storage!.store
    let read = 0
    const ranges = bucket.fired ? listed.map((key) => store.range(records.state(bucket.start, key))) : [store.range(records.window(bucket.start))]
    for (const range of ranges) {
      for (const { state, saved } of readWindowStates(range, records, bucket.start, this.context, true)) {
        const inline = bucket.keys.get(state.key)
        if (inline !== undefined) {
          // Changed after its last record (a snapshot taken without its changes): the next record
          // is the whole state, and the records the store holds are deleted with it.
          this.context.totalBytes -= state.bytes
          inline.saved = { count: saved.count, wholeBytes: 0, changeBytes: Infinity }
          continue
        }
        bucket.keys.set(state.key, state)
        this.keyCount++
        read++
      }
    }
    if (read !== expected) {
      throw new SnapshotFormatError(`the checkpoint keeps ${expected} states of the window at ${new Date(bucket.start).toISOString()} in the state store, which holds ${read}: the store is not the one the checkpoint was written with`)
    }
  }
}

function isUnsaved(state: WindowState): boolean {
  return state.unsaved || state.saved === null
}
