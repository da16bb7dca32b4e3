import type { ClickEvent } from '../../schemas/types.generated.ts'
import type { ByteReader, ByteWriter } from '../state/bytes.ts'
import { arrayBytes, NUMBER_BYTES, objectBytes, stringBytes } from '../state/heap-size.ts'
import { KeyedProcessOperator, type OperatorStorage, type Timer } from '../window/index.ts'
import { joinKey, keyParts } from './emissions.ts'

/** A visitor moving from one page to the next, at the second page's time. */
export interface Transition {
  readonly project: string
  readonly from: string
  readonly to: string
  readonly ts: number
}

export interface VisitorPath {
  last?: string
  lastTs?: number
  pending: Array<[number, string, string]>
  /**
   * When the one pending 'expire' timer fires. Absent in checkpoints written before it existed,
   * which may hold several expire timers per visitor: the first to fire re-arms, the rest are stale.
   */
  expireAt?: number
}

export interface VisitorPathSettings {
  readonly outOfOrdernessMs: number
  readonly idleTimeoutMs: number
  /** A visitor's last page is forgotten this long (event time) after it: the session gap. */
  readonly sessionGapMs: number
}

/**
 * Page → page transitions per visitor. Pageviews wait until the watermark passes them, then
 * leave in event-time order, so a transition is always between consecutive pages whatever order
 * they arrived in. A pageview that arrives behind the watermark cannot be slotted into a sequence
 * already emitted: it is counted in `late` and left out.
 */
export function visitorPathsOperator(
  settings: VisitorPathSettings,
  late: { value: number },
  storage?: OperatorStorage,
  /** Told of each pageview left out: the job reports it, so that a reprocess puts it back. */
  onLate?: (event: ClickEvent, watermark: number) => void,
) {
  return new KeyedProcessOperator<ClickEvent, VisitorPath, Transition>({
    key: (event) => joinKey(event.project_id, event.anonymous_id),
    time: (event) => event.ts,
    outOfOrdernessMs: settings.outOfOrdernessMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    processEvent: (event, context) => {
      if (event.type !== 'pageview') return
      if (event.ts < context.watermark) {
        late.value += 1
        onLate?.(event, context.watermark)
        return
      }
      let state = context.state
      if (state === undefined) context.state = state = { pending: [] }
      state.pending.push([event.ts, event.event_id, event.path])
      context.setTimer('event', event.ts, 'page')
    },
    onTimer: (timer: Timer, context) => {
      const state = context.state
      if (!state) return
      if (timer.tag === 'expire') {
        if (state.expireAt !== undefined && state.expireAt !== timer.time) return
        state.expireAt = undefined
        const expiry = (state.lastTs ?? 0) + settings.sessionGapMs
        if (state.pending.length === 0 && expiry <= timer.time) context.state = undefined
        // One expire timer per visitor, moved on when it fires, rather than one per page: a
        // pageview would otherwise queue a timer that fires only to find the visitor still active.
        else if (expiry > timer.time) armExpiry(state, expiry, context)
        return
      }
      // Sorting allocates even for one element, and one pending page is the common case.
      if (state.pending.length > 1) state.pending.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
      const project = keyParts(context.key)[0]!
      while (state.pending.length > 0 && state.pending[0]![0] <= timer.time) {
        const [ts, , path] = state.pending.shift()!
        if (state.last !== undefined && state.lastTs !== undefined && ts - state.lastTs <= settings.sessionGapMs) {
          context.emit({ project, from: state.last, to: path, ts })
        }
        state.last = path
        state.lastTs = ts
      }
      if (state.expireAt === undefined) armExpiry(state, state.lastTs! + settings.sessionGapMs, context)
    },
    serializeState: visitorPathCodec.write,
    deserializeState: visitorPathCodec.read,
    stateBytes: (state) => {
      let bytes = objectBytes(4) + 2 * NUMBER_BYTES + (state.last === undefined ? 0 : stringBytes(state.last)) + arrayBytes(state.pending.length)
      for (const [, id, path] of state.pending) bytes += arrayBytes(3) + NUMBER_BYTES + stringBytes(id) + stringBytes(path)
      return bytes
    },
  }, storage)
}

function armExpiry(state: VisitorPath, time: number, context: { setTimer(domain: 'event', time: number, tag: string): void }): void {
  state.expireAt = time
  context.setTimer('event', time, 'expire')
}

/**
 * A visitor's path in the store: written at every checkpoint the visitor viewed a page in, and
 * again when the page leaves in event-time order, so it is a good share of what a clickstream
 * checkpoint writes. Bytes rather than JSON: a format byte, which fields are there, the fields,
 * then the pages waiting. Paths written as JSON (before this format; they begin with `{`) read as
 * they are.
 */
const PATH_FORMAT = 1
const HAS_LAST = 1
const HAS_LAST_TS = 2
const HAS_EXPIRE_AT = 4
const JSON_OBJECT = 0x7b

export const visitorPathCodec = { write: writePath, read: readPath }

function writePath(state: VisitorPath, writer: ByteWriter): void {
  writer.u8(PATH_FORMAT)
  writer.u8((state.last === undefined ? 0 : HAS_LAST) | (state.lastTs === undefined ? 0 : HAS_LAST_TS) | (state.expireAt === undefined ? 0 : HAS_EXPIRE_AT))
  if (state.last !== undefined) writer.string(state.last)
  if (state.lastTs !== undefined) writer.f64(state.lastTs)
  if (state.expireAt !== undefined) writer.f64(state.expireAt)
  writer.u32(state.pending.length)
  for (const [ts, id, path] of state.pending) {
    writer.f64(ts)
    writer.string(id)
    writer.string(path)
  }
}

function readPath(reader: ByteReader): VisitorPath {
  if (reader.peekU8() === JSON_OBJECT) return JSON.parse(reader.text()) as VisitorPath
  const format = reader.u8()
  if (format !== PATH_FORMAT) throw new Error(`visitor path in format ${format}, which this release does not read`)
  const fields = reader.u8()
  const state: VisitorPath = { pending: [] }
  if ((fields & HAS_LAST) !== 0) state.last = reader.string()
  if ((fields & HAS_LAST_TS) !== 0) state.lastTs = reader.f64()
  if ((fields & HAS_EXPIRE_AT) !== 0) state.expireAt = reader.f64()
  for (let count = reader.u32(); count > 0; count--) state.pending.push([reader.f64(), reader.string(), reader.string()])
  return state
}
