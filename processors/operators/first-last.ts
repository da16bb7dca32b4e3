import type { Aggregator } from '../window/index.ts'

/**
 * A pick kept as the JSON a checkpoint writes, `{"time":…,"tie":…,"value":…}`, not as the value
 * object: a session's entry page is written at every checkpoint its session changed in, and held
 * for as long as the session is open. As an object (with each field's string from its event, the
 * tie's id too) plus that JSON it was ~750 bytes a session, the largest part of the open sessions'
 * heap; the text is ~250. A row's value is parsed from it, at most once per row emitted, and the
 * tie only when two events share a time.
 */
interface Pick {
  readonly time: number
  readonly text: string
}

const tieOf = (pick: Pick) => (JSON.parse(pick.text) as { tie: string }).tie

/**
 * The value of the earliest (or latest) event in a window, ties broken by a stable id so the result
 * does not depend on arrival order. Entry and exit pages of a session are these. Events whose
 * value is undefined do not take part (a custom event has no page to enter on).
 */
function pickBy<In, Value>(kind: string, time: (event: In) => number, tie: (event: In) => string, value: (event: In) => Value | undefined, earliest: boolean): Aggregator<In, Pick | null, Value | null> {
  /** 1 if a pick at `time` beats `than`, -1 if it loses, 0 if the tie decides. */
  const byTime = (time: number, than: Pick) => (time === than.time ? 0 : (earliest ? time < than.time : time > than.time) ? 1 : -1)
  const tieBeats = (tie: string, than: Pick) => (earliest ? tie < tieOf(than) : tie > tieOf(than))
  return {
    kind,
    create: () => null,
    add: (current, event) => {
      const at = time(event)
      // Most events of a session are not its first: their value is never built.
      if (current !== null) {
        const order = byTime(at, current)
        if (order < 0 || (order === 0 && !tieBeats(tie(event), current))) return current
      }
      const picked = value(event)
      if (picked === undefined) return current
      return { time: at, text: JSON.stringify({ time: at, tie: tie(event), value: picked }) }
    },
    merge: (into, from) => {
      if (into === null || from === null) return into ?? from
      const order = byTime(from.time, into)
      return order > 0 || (order === 0 && tieBeats(tieOf(from), into)) ? from : into
    },
    result: (current) => (current === null ? null : (JSON.parse(current.text) as { value: Value }).value),
    serialize: (current, writer) => writer.text(current === null ? 'null' : current.text),
    deserialize: (reader) => {
      const text = reader.text()
      const parsed = JSON.parse(text) as { time: number } | null
      return parsed === null ? null : { time: parsed.time, text }
    },
  }
}

export function firstBy<In, Value>(time: (event: In) => number, tie: (event: In) => string, value: (event: In) => Value | undefined): Aggregator<In, Pick | null, Value | null> {
  return pickBy('first-by', time, tie, value, true)
}

export function lastBy<In, Value>(time: (event: In) => number, tie: (event: In) => string, value: (event: In) => Value | undefined): Aggregator<In, Pick | null, Value | null> {
  return pickBy('last-by', time, tie, value, false)
}
