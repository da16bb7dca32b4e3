import type { Aggregator } from '../window/index.ts'

interface Pick<Value> {
  time: number
  tie: string
  value: Value
}

/**
 * A pick never changes once made, and a session's entry page is written at every checkpoint its
 * session changed in (its chain is written whole): encoded once, not each time.
 */
const texts = new WeakMap<object, string>()

function encoded(current: Pick<unknown> | null): string {
  if (current === null) return 'null'
  let text = texts.get(current)
  if (text === undefined) texts.set(current, (text = JSON.stringify(current)))
  return text
}

/**
 * The value of the earliest (or latest) event in a window, ties broken by a stable id so the result
 * does not depend on arrival order. Entry and exit pages of a session are these. Events whose
 * value is undefined do not take part (a custom event has no page to enter on).
 */
function pickBy<In, Value>(kind: string, time: (event: In) => number, tie: (event: In) => string, value: (event: In) => Value | undefined, earliest: boolean): Aggregator<In, Pick<Value> | null, Value | null> {
  const better = (a: Pick<Value>, b: Pick<Value>) => (earliest
    ? a.time < b.time || (a.time === b.time && a.tie < b.tie)
    : a.time > b.time || (a.time === b.time && a.tie > b.tie))
  return {
    kind,
    create: () => null,
    add: (current, event) => {
      const picked = value(event)
      if (picked === undefined) return current
      const candidate = { time: time(event), tie: tie(event), value: picked }
      return current === null || better(candidate, current) ? candidate : current
    },
    merge: (into, from) => (into === null ? from : from === null ? into : better(from, into) ? from : into),
    result: (current) => (current === null ? null : current.value),
    serialize: (current, writer) => writer.text(encoded(current)),
    deserialize: (reader) => {
      const text = reader.text()
      const current = JSON.parse(text) as Pick<Value> | null
      if (current !== null) texts.set(current, text)
      return current
    },
  }
}

export function firstBy<In, Value>(time: (event: In) => number, tie: (event: In) => string, value: (event: In) => Value | undefined): Aggregator<In, Pick<Value> | null, Value | null> {
  return pickBy('first-by', time, tie, value, true)
}

export function lastBy<In, Value>(time: (event: In) => number, tie: (event: In) => string, value: (event: In) => Value | undefined): Aggregator<In, Pick<Value> | null, Value | null> {
  return pickBy('last-by', time, tie, value, false)
}
