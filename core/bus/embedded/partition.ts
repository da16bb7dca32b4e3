/**
 * One partition: an ordered run of segments, appended to by exactly one flush at a time (the
 * group commit guarantees it) and read by any number of consumers.
 */
import { mkdir, readdir } from 'node:fs/promises'
import type { BusRecord, ProduceRecord } from '../port.ts'
import { BusError } from '../port.ts'
import { encodeBatch, type EncodedBatch } from './batch-encoder.ts'
import { syncDirectory, writeFully } from './file-io.ts'
import { checkFrame, decodeFrame } from './record-format.ts'
import { segmentsToDelete, type RetentionPolicy } from './retention.ts'
import { parseSegmentFileName, Segment, type SegmentOptions } from './segment.ts'

export interface PartitionOptions extends SegmentOptions {
  readonly segmentBytes: number
  readonly maxReadBytes: number
}

const MIN_READ_BYTES = 64 * 1024

export interface WrittenBatch {
  readonly segment: Segment
  readonly firstOffset: number
  readonly encoded: EncodedBatch
}

export class Partition {
  /** A failed append may have left bytes past the active segment's size; cut them before writing. */
  private dirtyTail = false
  private appended: { promise: Promise<void>; resolve: () => void } | undefined

  private constructor(
    readonly topic: string,
    readonly id: number,
    readonly dir: string,
    private readonly segments: Segment[],
    private readonly options: PartitionOptions,
  ) {}

  static async open(topic: string, id: number, dir: string, options: PartitionOptions): Promise<Partition> {
    await mkdir(dir, { recursive: true })
    const bases = (await readdir(dir))
      .map(parseSegmentFileName)
      .filter((base): base is number => base !== undefined)
      .sort((a, b) => a - b)
    const segments: Segment[] = []
    if (bases.length === 0) {
      segments.push(await Segment.create(dir, 0, options))
      await syncDirectory(dir)
    } else {
      for (let i = 0; i < bases.length - 1; i++) {
        segments.push(await Segment.openSealed(dir, bases[i]!, bases[i + 1]!, options))
      }
      segments.push(await Segment.recover(dir, bases[bases.length - 1]!, options))
    }
    return new Partition(topic, id, dir, segments, options)
  }

  /** First offset still retained. */
  get low(): number {
    return this.segments[0]!.baseOffset
  }

  /** Offset the next record will get; everything below is durable. */
  get high(): number {
    return this.active.nextOffset
  }

  get sizeBytes(): number {
    let total = 0
    for (const segment of this.segments) total += segment.size
    return total
  }

  get segmentCount(): number {
    return this.segments.length
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!
  }

  /** Resolves on the next successful append: lets consumers wait without polling. */
  nextAppend(): Promise<void> {
    if (this.appended === undefined) {
      let resolve!: () => void
      const promise = new Promise<void>((done) => (resolve = done))
      this.appended = { promise, resolve }
    }
    return this.appended.promise
  }

  /**
   * First half of an append: one write of all batches, not yet durable nor visible. The group
   * commit writes every partition of a cycle first and then fsyncs them together, so the
   * filesystem can fold their journal commits into one. On failure the tail is cut back.
   */
  async write(batches: readonly (readonly ProduceRecord[])[], now: number): Promise<WrittenBatch> {
    if (this.dirtyTail) await this.cutTail()
    let segment = this.active
    const firstOffset = segment.nextOffset
    let encoded = encodeBatch(batches, firstOffset, now, segment.size, segment.lastIndexedPosition, this.options.indexIntervalBytes)
    if (segment.size > 0 && segment.size + encoded.buffer.length > this.options.segmentBytes) {
      segment = await this.roll()
      // Positions restart at zero in the new file, so the index entries must be recomputed.
      encoded = encodeBatch(batches, firstOffset, now, 0, segment.lastIndexedPosition, this.options.indexIntervalBytes)
    }
    try {
      await writeFully(segment.file, encoded.buffer, segment.size)
    } catch (error) {
      await this.failed()
      throw error
    }
    return { segment, firstOffset, encoded }
  }

  /**
   * Second half: fdatasync, then the records become visible and consumers wake up. Returns the
   * first offset. On failure nothing becomes visible and the tail is cut back, so the next append
   * reuses the same offsets.
   */
  async sync(written: WrittenBatch): Promise<number> {
    const { segment, firstOffset, encoded } = written
    try {
      await segment.file.datasync()
    } catch (error) {
      await this.failed()
      throw error
    }
    segment.commitAppend(encoded.buffer.length, firstOffset + encoded.count, encoded.maxTimestamp, encoded.index)
    const appended = this.appended
    this.appended = undefined
    appended?.resolve()
    return firstOffset
  }

  async append(batches: readonly (readonly ProduceRecord[])[], now: number): Promise<number> {
    return this.sync(await this.write(batches, now))
  }

  /** Reads up to `maxRecords` durable records from `offset`; an offset below `low` starts at `low`. */
  async read(offset: number, maxRecords: number): Promise<BusRecord[]> {
    for (;;) {
      if (offset < this.low) offset = this.low
      if (offset >= this.high || maxRecords <= 0) return []
      const index = this.segmentIndexFor(offset)
      const segment = this.segments[index]!
      try {
        await segment.ensureIndexed()
        if (offset >= segment.nextOffset) {
          // Only after a corrupt sealed segment: skip the unreadable rest to the next segment.
          const next = this.segments[index + 1]
          if (next === undefined) return []
          offset = next.baseOffset
          continue
        }
        const records = await this.readSegment(segment, offset, maxRecords)
        if (records.length > 0) return records
      } catch (error) {
        // Retention deleted the segment under us: start again from the new low offset.
        if (!this.segments.includes(segment)) continue
        throw error
      }
    }
  }

  /** Deletes old sealed segments per the topic's policy; returns how many went. */
  async applyRetention(policy: RetentionPolicy, now: number): Promise<number> {
    if (policy.retentionMs === undefined && policy.retentionBytes === undefined) return 0
    const sealed = this.segments.slice(0, -1)
    if (policy.retentionMs !== undefined) {
      for (const segment of sealed) await segment.ensureIndexed()
    }
    const count = segmentsToDelete(sealed, this.sizeBytes, policy, now)
    if (count === 0) return 0
    // Taken out of the list first, so no new read picks them; reads in flight finish or retry.
    const victims = this.segments.splice(0, count)
    for (const segment of victims) await segment.delete()
    await syncDirectory(this.dir)
    this.options.logger.info(
      { topic: this.topic, partition: this.id, segments: count, low: this.low },
      'retention deleted log segments',
    )
    return count
  }

  /** Cuts the tail a failed append left behind; used by the health probe. */
  async repair(): Promise<void> {
    if (this.dirtyTail) await this.cutTail()
  }

  async close(): Promise<void> {
    for (const segment of this.segments) await segment.close()
  }

  private async failed(): Promise<void> {
    this.dirtyTail = true
    await this.cutTail().catch(() => undefined)
  }

  private async cutTail(): Promise<void> {
    const segment = this.active
    await segment.file.truncate(segment.size)
    await segment.file.datasync()
    this.dirtyTail = false
  }

  private async roll(): Promise<Segment> {
    const segment = await Segment.create(this.dir, this.active.nextOffset, this.options)
    try {
      await syncDirectory(this.dir)
    } catch (error) {
      await segment.delete().catch(() => undefined)
      throw error
    }
    this.segments.push(segment)
    return segment
  }

  private segmentIndexFor(offset: number): number {
    let low = 0
    let high = this.segments.length - 1
    while (low < high) {
      const middle = (low + high + 1) >>> 1
      if (this.segments[middle]!.baseOffset <= offset) low = middle
      else high = middle - 1
    }
    return low
  }

  private async readSegment(segment: Segment, offset: number, maxRecords: number): Promise<BusRecord[]> {
    const { maxReadBytes, maxFrameBytes, indexIntervalBytes } = this.options
    const start = segment.positionOf(offset)
    const end = segment.size
    // Sized from the segment's average record so small batches do not copy a megabyte each.
    const average = segment.records > 0 ? segment.size / segment.records : 1024
    let length = Math.min(end - start, Math.max(MIN_READ_BYTES, Math.min(maxReadBytes, Math.ceil(average * maxRecords * 1.1) + indexIntervalBytes)))
    const records: BusRecord[] = []
    let position = start
    while (records.length < maxRecords && position < end) {
      const buffer = await segment.read(position, Math.min(length, end - position))
      let at = 0
      let needed = 0
      while (records.length < maxRecords) {
        const frame = checkFrame(buffer, at, maxFrameBytes)
        if (frame.status === 'incomplete') {
          needed = frame.needed
          break
        }
        if (frame.status === 'corrupt') {
          throw new BusError(`corrupt record in ${segment.path} at byte ${position + at}: ${frame.reason}`, false, 'UNAVAILABLE')
        }
        if (frame.offset >= offset) records.push(decodeFrame(buffer, at, this.topic, this.id))
        at = frame.end
      }
      if (at === 0) {
        // One frame larger than the read: fetch it whole.
        if (needed <= buffer.length) throw new BusError(`unreadable record in ${segment.path} at byte ${position}`, false, 'UNAVAILABLE')
        length = needed
        continue
      }
      position += at
      if (records.length > 0) break
    }
    return records
  }
}
