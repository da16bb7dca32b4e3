/**
 * One segment file: `<baseOffset, 20 digits>.log`, append-only, plus the sparse in-memory index
 * that turns an offset into a file position. Only bytes up to `size` are ever read: `size` moves
 * after fsync, so readers never see data that is not durable.
 */
import { join } from 'node:path'
import { unlink } from 'node:fs/promises'
import type { Logger } from 'pino'
import { checkFrame } from './record-format.ts'
import { readFully, type LogFile, type OpenFile } from './file-io.ts'

const SCAN_CHUNK_BYTES = 1 << 20

export interface SegmentOptions {
  readonly openFile: OpenFile
  readonly logger: Logger
  readonly indexIntervalBytes: number
  readonly maxFrameBytes: number
}

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`
}

export function parseSegmentFileName(name: string): number | undefined {
  const match = /^(\d{20})\.log$/.exec(name)
  return match === null ? undefined : Number(match[1])
}

/** Index entries found while encoding a batch, applied only once the batch is durable. */
export interface PendingIndex {
  readonly offsets: number[]
  readonly positions: number[]
}

export class Segment {
  /** Durable, valid bytes. */
  size: number
  /** Offset the next record appended here would get. */
  nextOffset: number
  /** Largest record timestamp; -1 while unknown (a sealed segment not scanned yet). */
  maxTimestamp = -1
  private indexOffsets: number[] = []
  private indexPositions: number[] = []
  private indexed: boolean
  private indexing: Promise<void> | undefined
  private deleted = false

  private constructor(
    readonly path: string,
    readonly baseOffset: number,
    readonly file: LogFile,
    size: number,
    nextOffset: number,
    indexed: boolean,
    private readonly options: SegmentOptions,
  ) {
    this.size = size
    this.nextOffset = nextOffset
    this.indexed = indexed
  }

  static async create(dir: string, baseOffset: number, options: SegmentOptions): Promise<Segment> {
    const path = join(dir, segmentFileName(baseOffset))
    const file = await options.openFile(path, 'wx+')
    return new Segment(path, baseOffset, file, 0, baseOffset, true, options)
  }

  /** A sealed segment: its end is the next segment's base; the index is built on first read. */
  static async openSealed(dir: string, baseOffset: number, nextBase: number, options: SegmentOptions): Promise<Segment> {
    const path = join(dir, segmentFileName(baseOffset))
    const file = await options.openFile(path, 'r+')
    const { size } = await file.stat()
    return new Segment(path, baseOffset, file, size, nextBase, false, options)
  }

  /**
   * The active segment after a restart: scan every frame, cut a torn or corrupt tail (a write the
   * process died in the middle of, never acknowledged), and make the cut durable.
   */
  static async recover(dir: string, baseOffset: number, options: SegmentOptions): Promise<Segment> {
    const path = join(dir, segmentFileName(baseOffset))
    const file = await options.openFile(path, 'r+')
    const { size: fileSize } = await file.stat()
    const segment = new Segment(path, baseOffset, file, fileSize, baseOffset, false, options)
    const problem = await segment.scan(fileSize)
    if (segment.size < fileSize) {
      options.logger.warn(
        { file: path, validBytes: segment.size, truncatedBytes: fileSize - segment.size, reason: problem, nextOffset: segment.nextOffset },
        'truncating torn tail of log segment',
      )
      await file.truncate(segment.size)
      await file.datasync()
    }
    return segment
  }

  get records(): number {
    return this.nextOffset - this.baseOffset
  }

  /** Builds the index of a sealed segment once; concurrent readers share the scan. */
  ensureIndexed(): Promise<void> {
    if (this.indexed) return Promise.resolve()
    this.indexing ??= this.scan(this.size).then((problem) => {
      if (problem !== undefined) {
        // A sealed segment was written completely before the next one was created, so damage here
        // is not a torn write: report it loudly, serve what is valid and skip the rest.
        this.options.logger.error({ file: this.path, validBytes: this.size, reason: problem }, 'corrupt sealed log segment')
      }
    })
    return this.indexing
  }

  /** File position of the last indexed record at or before `offset`. */
  positionOf(offset: number): number {
    const offsets = this.indexOffsets
    let low = 0
    let high = offsets.length - 1
    let found = 0
    while (low <= high) {
      const middle = (low + high) >>> 1
      if (offsets[middle]! <= offset) {
        found = this.indexPositions[middle]!
        low = middle + 1
      } else {
        high = middle - 1
      }
    }
    return found
  }

  read(position: number, length: number): Promise<Buffer> {
    return readFully(this.file, position, length)
  }

  /** Position of the last index entry; -Infinity makes the first frame of a segment indexed. */
  get lastIndexedPosition(): number {
    const positions = this.indexPositions
    return positions.length === 0 ? -Infinity : positions[positions.length - 1]!
  }

  commitAppend(bytes: number, nextOffset: number, maxTimestamp: number, index: PendingIndex): void {
    for (let i = 0; i < index.offsets.length; i++) {
      this.indexOffsets.push(index.offsets[i]!)
      this.indexPositions.push(index.positions[i]!)
    }
    this.size += bytes
    this.nextOffset = nextOffset
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp
  }

  async close(): Promise<void> {
    await this.file.close()
  }

  /** Closes and unlinks; FileHandle.close waits for reads in flight, later ones fail cleanly. */
  async delete(): Promise<void> {
    if (this.deleted) return
    this.deleted = true
    await this.file.close()
    await unlink(this.path)
  }

  /** Walks frames from the start; sets size/nextOffset/maxTimestamp/index to the valid prefix. */
  private async scan(limit: number): Promise<string | undefined> {
    const { maxFrameBytes } = this.options
    this.indexOffsets = []
    this.indexPositions = []
    let position = 0
    let expected = this.baseOffset
    let maxTimestamp = -1
    let problem: string | undefined
    let readLength = SCAN_CHUNK_BYTES
    scanning: while (position < limit) {
      const chunk = await this.read(position, Math.min(readLength, limit - position))
      readLength = SCAN_CHUNK_BYTES
      let at = 0
      for (;;) {
        if (at === chunk.length) {
          if (at === 0) {
            problem = 'file shorter than its recorded size'
            break scanning
          }
          position += at
          continue scanning
        }
        const frame = checkFrame(chunk, at, maxFrameBytes)
        if (frame.status === 'corrupt') {
          problem = frame.reason
          position += at
          break scanning
        }
        if (frame.status === 'incomplete') {
          if (position + at + frame.needed > limit) {
            problem = 'incomplete frame at end of file'
            position += at
            break scanning
          }
          // A frame larger than the chunk: read it whole next time round.
          if (at === 0) readLength = frame.needed
          position += at
          continue scanning
        }
        if (frame.offset !== expected) {
          problem = `offset ${frame.offset} where ${expected} was expected`
          position += at
          break scanning
        }
        if (position + at - this.lastIndexedPosition >= this.options.indexIntervalBytes) {
          this.indexOffsets.push(frame.offset)
          this.indexPositions.push(position + at)
        }
        if (frame.timestamp > maxTimestamp) maxTimestamp = frame.timestamp
        expected++
        at = frame.end
      }
    }
    this.size = position
    this.nextOffset = expected
    this.maxTimestamp = maxTimestamp
    this.indexed = true
    return problem
  }
}
