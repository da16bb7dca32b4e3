import { DDSketch } from '@datadog/sketches-js'
import { ByteReader, ByteWriter } from '../state/bytes.ts'

/**
 * Mergeable relative-error quantile sketch: `@datadog/sketches-js` DDSketch for inserts and
 * queries, with our own merge and serialisation because the library's (2.1.1):
 *  - `merge` folds only the positive store, silently dropping negative values of the other sketch;
 *  - `fromProto` loses min/max/sum and round-trips through protobuf, which is slow for snapshots.
 * We copy bins key by key through the public `store.add`, so the result depends only on the
 * per-bucket counts and never on how the dense arrays happened to be laid out.
 */

interface DenseStoreShape {
  chunkSize: number
  bins: number[]
  count: number
  minKey: number
  maxKey: number
  offset: number
  add(key: number, weight?: number): void
}

interface SketchShape {
  mapping: unknown
  store: DenseStoreShape
  negativeStore: DenseStoreShape
  zeroCount: number
  count: number
  sum: number
  min: number
  max: number
  accept(value: number, weight?: number): void
  getValueAtQuantile(quantile: number): number
}

const VERSION = 1
/**
 * The library grows bins in chunks of 128 numbers (~1 KB per store on the first value). Per-key
 * sketches mostly hold a handful of values, so smaller chunks cut heap at 100,000 keys several-fold.
 */
const CHUNK_SIZE = 16
/** The key mapping is immutable and depends only on the accuracy: one per accuracy is enough. */
const mappings = new Map<number, unknown>()

export class QuantileSketch {
  private readonly sketch: SketchShape

  constructor(readonly relativeAccuracy = 0.01) {
    const sketch = new DDSketch({ relativeAccuracy }) as unknown as SketchShape
    sketch.store.chunkSize = CHUNK_SIZE
    sketch.negativeStore.chunkSize = CHUNK_SIZE
    const shared = mappings.get(relativeAccuracy)
    if (shared === undefined) mappings.set(relativeAccuracy, sketch.mapping)
    else sketch.mapping = shared
    this.sketch = sketch
  }

  add(value: number): void {
    this.sketch.accept(value)
  }

  get count(): number {
    return this.sketch.count
  }

  quantile(quantile: number): number {
    // DDSketch reports bucket midpoints; clamping to the observed range makes p0/p100 exact.
    const value = this.sketch.getValueAtQuantile(quantile)
    return Math.min(this.sketch.max, Math.max(this.sketch.min, value))
  }

  merge(other: QuantileSketch): void {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new RangeError('cannot merge quantile sketches with different relative accuracy')
    }
    const from = other.sketch
    copyBins(from.store, this.sketch.store)
    copyBins(from.negativeStore, this.sketch.negativeStore)
    this.sketch.zeroCount += from.zeroCount
    this.sketch.count += from.count
    this.sketch.sum += from.sum
    if (from.min < this.sketch.min) this.sketch.min = from.min
    if (from.max > this.sketch.max) this.sketch.max = from.max
  }

  /** Estimated heap bytes from the logical key range, so a restored sketch reports the same. */
  bytes(): number {
    // Sketch, two stores and their arrays: ~560 bytes before any bins (measured in bench/window.ts).
    return 560 + rangeBytes(this.sketch.store) + rangeBytes(this.sketch.negativeStore)
  }

  serialize(writer: ByteWriter): void {
    writer.u8(VERSION)
    writer.f64(this.relativeAccuracy)
    writer.f64(this.sketch.zeroCount)
    writer.f64(this.sketch.count)
    writer.f64(this.sketch.sum)
    writer.f64(this.sketch.min)
    writer.f64(this.sketch.max)
    writeStore(writer, this.sketch.store)
    writeStore(writer, this.sketch.negativeStore)
  }

  static deserialize(reader: ByteReader): QuantileSketch {
    const version = reader.u8()
    if (version !== VERSION) throw new RangeError(`unknown quantile sketch format ${version}`)
    const result = new QuantileSketch(reader.f64())
    const sketch = result.sketch
    sketch.zeroCount = reader.f64()
    const count = reader.f64()
    const sum = reader.f64()
    const min = reader.f64()
    const max = reader.f64()
    readStore(reader, sketch.store)
    readStore(reader, sketch.negativeStore)
    sketch.count = count
    sketch.sum = sum
    sketch.min = min
    sketch.max = max
    return result
  }
}

function rangeBytes(store: DenseStoreShape): number {
  if (store.count === 0) return 0
  return Math.ceil((store.maxKey - store.minKey + 1) / CHUNK_SIZE) * CHUNK_SIZE * 8 + 32
}

function copyBins(from: DenseStoreShape, into: DenseStoreShape): void {
  if (from.count === 0) return
  for (let key = from.minKey; key <= from.maxKey; key++) {
    const weight = from.bins[key - from.offset] as number
    if (weight > 0) into.add(key, weight)
  }
}

function writeStore(writer: ByteWriter, store: DenseStoreShape): void {
  if (store.count === 0) {
    writer.u32(0)
    return
  }
  writer.u32(store.maxKey - store.minKey + 1)
  writer.f64(store.minKey)
  for (let key = store.minKey; key <= store.maxKey; key++) writer.f64(store.bins[key - store.offset] as number)
}

function readStore(reader: ByteReader, store: DenseStoreShape): void {
  const length = reader.u32()
  if (length === 0) return
  const minKey = reader.f64()
  for (let position = 0; position < length; position++) {
    const weight = reader.f64()
    if (weight > 0) store.add(minKey + position, weight)
  }
}
