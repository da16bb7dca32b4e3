import { deeperThan, pointerOf, tooDeepReason, type Path } from '../core/http/nesting.ts'
import { ProblemError, type FieldError } from '../core/http/problem.ts'
import { INGEST_PROBLEMS } from './errors.ts'

/**
 * Arrays of events in the bodies ingest reads: a root array (logs, SendGrid), `batch` (Segment)
 * and `logs`. A pointer that starts in one names that event. Loki's and OTLP's records sit two or
 * three arrays down and are numbered across them, so there the pointer alone names the record.
 */
const EVENT_ARRAYS = new Set(['batch', 'logs'])

/** The event (its position in the body) a too-deep path lies in, when the body holds several. */
export function eventOf(path: Path): number | undefined {
  if (typeof path[0] === 'number') return path[0]
  if (typeof path[0] === 'string' && EVENT_ARRAYS.has(path[0]) && typeof path[1] === 'number') return path[1]
  return undefined
}

/** The field error for a value nested past the limit: its event, and its pointer in the body. */
export function tooDeepError(path: Path, maxDepth: number, event = eventOf(path)): FieldError {
  return { ...(event === undefined ? {} : { event }), field: pointerOf(path), reason: tooDeepReason(maxDepth) }
}

/**
 * Refuses a parsed body that nests deeper than `maxDepth` with 400 INGEST_NESTED_TOO_DEEP, before
 * any recursive walk (size bounds, normalisers, flattening, JSON.stringify) can overflow the stack.
 */
export function assertShallow(body: unknown, maxDepth: number): void {
  const path = deeperThan(body, maxDepth)
  if (path === undefined) return
  throw new ProblemError(INGEST_PROBLEMS.INGEST_NESTED_TOO_DEEP, `the body nests objects and arrays more than ${maxDepth} levels deep (EDDY_MAX_NESTING_DEPTH); nothing was accepted`, [tooDeepError(path, maxDepth)])
}

/**
 * protobufjs stops decoding at its own recursion limit (100 messages, protoc's) with this
 * message; it is the same refusal as a JSON body past EDDY_MAX_NESTING_DEPTH.
 */
export function decodeTooDeep(error: unknown, maxDepth: number): ProblemError | undefined {
  if (!(error instanceof Error) || !/max depth exceeded|call stack/i.test(error.message)) return undefined
  return new ProblemError(INGEST_PROBLEMS.INGEST_NESTED_TOO_DEEP, `the protobuf body nests messages more than the decoder allows (limit ${maxDepth} levels, EDDY_MAX_NESTING_DEPTH); nothing was accepted`, [{ field: '', reason: tooDeepReason(maxDepth) }])
}

/** Like assertShallow, for one line of NDJSON: the reason to refuse that line alone, or undefined. */
export function lineTooDeep(value: unknown, maxDepth: number): string | undefined {
  const path = deeperThan(value, maxDepth)
  return path === undefined ? undefined : `${pointerOf(path) || '/'}: ${tooDeepReason(maxDepth)} (EDDY_MAX_NESTING_DEPTH)`
}
