import type { FieldError } from '../../core/http/problem.ts'
import type { LogEvent, LogLevel } from '../../schemas/types.generated.ts'
import type { Json } from '../normalise/fields.ts'
import { normaliseLogLevel, normaliseLogLine, type LogContext } from '../normalise/log.ts'

/**
 * One record of a shipper's request, already mapped onto Eddy's own log line shape (service,
 * message, level, timestamp, host, logger, trace_id, span_id, attributes, event_id) by the
 * format's pure mapping function — or the reason it could not be.
 */
export interface ShippedLine {
  /** Reported as `errors[].event`: the record's ordinal in the request (0-based) or NDJSON line number. */
  readonly position: number
  /** JSON pointer of the record in the request, prefixed to field errors. */
  readonly pointer: string
  readonly line?: Json
  readonly error?: string
}

export interface LineOutcome {
  readonly event?: LogEvent
  readonly errors?: readonly FieldError[]
}

export interface ShippedBatch {
  readonly events: LogEvent[]
  readonly rejected: FieldError[]
  /** One per input line, in order (the `_bulk` answer needs an item per action). */
  readonly outcomes: LineOutcome[]
}

/**
 * Validates mapped lines with the same rules as `POST /v1/logs` (time bounds, levels, size). A
 * line is refused on its own, never the batch: a shipper cannot split a batch, and a batch it
 * retries forever because of one bad line would stall everything behind it.
 */
export function normaliseShipped(lines: readonly ShippedLine[], context: LogContext, maxEventBytes: number): ShippedBatch {
  const events: LogEvent[] = []
  const rejected: FieldError[] = []
  const outcomes: LineOutcome[] = []
  for (const shipped of lines) {
    let outcome: LineOutcome
    if (shipped.error !== undefined || !shipped.line) {
      outcome = { errors: [{ event: shipped.position, field: shipped.pointer, reason: shipped.error ?? 'not a log record' }] }
    } else {
      const bytes = Buffer.byteLength(JSON.stringify(shipped.line))
      if (bytes > maxEventBytes) {
        outcome = { errors: [{ event: shipped.position, field: shipped.pointer, reason: `record is ${bytes} bytes, more than the limit of ${maxEventBytes}` }] }
      } else {
        const result = normaliseLogLine(shipped.line, shipped.position, context, shipped.pointer)
        outcome = result.ok ? { event: result.event } : { errors: result.errors }
      }
    }
    if (outcome.event) events.push(outcome.event)
    if (outcome.errors) rejected.push(...outcome.errors)
    outcomes.push(outcome)
  }
  return { events, rejected, outcomes }
}

/**
 * A shipper's level word (or pino number) as Eddy's level; an unknown word is kept as `info` with
 * the original in `attributes.severity_text` rather than refusing the line: shippers forward
 * whatever their sources wrote, and a log line is worth more stored than dropped.
 */
export function shipperLevel(value: unknown, attributes: Record<string, string>): LogLevel {
  const level = normaliseLogLevel(typeof value === 'string' ? value.trim() : value)
  if (level) return level
  attributes.severity_text = typeof value === 'string' ? value : JSON.stringify(value)
  return 'info'
}

/** A short summary of rejections for formats whose answer has one message field (OTLP). */
export function summarise(rejected: readonly FieldError[], limit = 5): string {
  const shown = rejected.slice(0, limit).map((error) => `${error.field || `#${error.event}`}: ${error.reason}`)
  return rejected.length > limit ? `${shown.join('; ')}; and ${rejected.length - limit} more` : shown.join('; ')
}
