import type { LogEvent, LogLevel } from '../../schemas/types.generated.ts'
import { eventIdFor } from './event-id.ts'
import { FieldReader, isObject, stringMap, type Json } from './fields.ts'
import type { Normalised } from './segment.ts'
import { readEventTime, type TimeBounds } from './time.ts'

export interface LogContext {
  readonly projectId: string
  readonly receivedAt: number
  readonly bounds: TimeBounds
}

/** The level words `/v1/logs` accepts (in any letter case) and the level each is stored as. */
export const LEVELS: Readonly<Record<string, LogLevel>> = {
  trace: 'trace', debug: 'debug', info: 'info', information: 'info', notice: 'info', warn: 'warn', warning: 'warn',
  error: 'error', err: 'error', fatal: 'fatal', critical: 'fatal', crit: 'fatal', alert: 'fatal', emerg: 'fatal', emergency: 'fatal', panic: 'fatal',
}
/** pino/bunyan numeric levels: the first threshold a number reaches. */
export const NUMERIC_LEVELS: ReadonlyArray<readonly [number, LogLevel]> = [[60, 'fatal'], [50, 'error'], [40, 'warn'], [30, 'info'], [20, 'debug'], [0, 'trace']]

export const MAX_SERVICE_LENGTH = 200

/** Fields with a meaning of their own; every other field of a line becomes an attribute. */
const KNOWN = new Set(['event_id', 'id', 'timestamp', 'ts', 'time', '@timestamp', 'date', 'service', 'host', 'hostname', 'level', 'severity', 'message', 'msg', 'logger', 'trace_id', 'span_id', 'attributes'])
/** Where a line's time is read from: the first of these that is present. */
export const TIME_FIELDS = ['timestamp', 'ts', 'time', '@timestamp', 'date'] as const

/**
 * Epoch numbers in the unit the shipper chose: Fluent Bit's `date` is seconds with a fraction,
 * Loki and OTLP count nanoseconds, most JSON loggers milliseconds. The ranges cannot be confused
 * for any time within retention: 1e11 ms is 1973, 1e11 s is the year 5138.
 */
export function epochToMillis(value: number): number {
  const magnitude = Math.abs(value)
  const millis = magnitude < 1e11 ? Math.round(value * 1_000) : magnitude >= 1e17 ? Math.floor(value / 1e6) : magnitude >= 1e14 ? Math.floor(value / 1e3) : value
  // Beyond what a Date can hold (±8.64e15 ms) is not a time at all: unreadable, not a crash.
  return Math.abs(millis) <= 8.64e15 ? millis : Number.NaN
}

export function normaliseLogLevel(value: unknown): LogLevel | undefined {
  if (value === undefined || value === null || value === '') return 'info'
  if (typeof value === 'number') return NUMERIC_LEVELS.find(([threshold]) => value >= threshold)?.[1]
  if (typeof value === 'string') return LEVELS[value.toLowerCase()]
  return undefined
}

/**
 * One log line as Eddy's own JSON shape (also what pino, bunyan and most JSON loggers write):
 * `service` and `message` (or `msg`) are required; time, level, host, trace ids are read from
 * their common names; anything else is kept as an attribute.
 */
export function normaliseLogLine(line: unknown, index: number, context: LogContext, pointer = ''): Normalised<LogEvent> {
  const read = new FieldReader(index, pointer)
  if (!isObject(line)) {
    read.fail('', 'must be a JSON object')
    return { ok: false, errors: read.errors }
  }
  const service = read.string(line, 'service', 'service', MAX_SERVICE_LENGTH)
  if (!service) read.fail('service', 'is required')
  // `log` is where Fluent Bit's tail and Docker's json-file put the line.
  const messageField = typeof line.message === 'string' ? 'message' : typeof line.msg === 'string' ? 'msg' : typeof line.log === 'string' ? 'log' : undefined
  const message = messageField ? (line[messageField] as string) : ''
  if (line.message !== undefined && typeof line.message !== 'string') read.fail('message', 'must be a string')
  else if (!message) read.fail('message', 'is required (message, msg or log)')
  const level = normaliseLogLevel(line.level ?? line.severity)
  if (!level) read.fail('level', `must be one of trace, debug, info, warn, error, fatal (or a pino number), got ${JSON.stringify(line.level ?? line.severity)}`)

  const timeField = TIME_FIELDS.find((field) => line[field] !== undefined && line[field] !== null)
  const rawTime = timeField ? line[timeField] : undefined
  const ts = readEventTime(typeof rawTime === 'number' ? epochToMillis(rawTime) : rawTime, context.receivedAt, context.bounds, (reason) => read.fail('timestamp', reason))
  const attributes = read.object(line, 'attributes')
  // Read before the verdict, so a mistyped field is reported rather than silently left empty.
  const host = readHost(read, line)
  const logger = read.string(line, 'logger')
  const traceId = read.string(line, 'trace_id')
  const spanId = read.string(line, 'span_id')
  if (read.errors.length > 0 || !level) return { ok: false, errors: read.errors }

  const extra: Json = {}
  for (const [key, value] of Object.entries(line)) if (!KNOWN.has(key) && key !== messageField) extra[key] = value
  return {
    ok: true,
    event: {
      event_id: eventIdFor(context.projectId, line.event_id ?? line.id),
      project_id: context.projectId,
      ts,
      received_at: context.receivedAt,
      service,
      host,
      level,
      message,
      logger: logger || null,
      trace_id: traceId || null,
      span_id: spanId || null,
      attributes: { ...stringMap(extra), ...stringMap(attributes) },
    },
  }
}

/**
 * `host` or `hostname` as a string; an ECS-style `host` object (Filebeat, Elastic Agent, Vector's
 * ECS mode) gives its `name` or `hostname`. Anything else is an error of the line.
 */
function readHost(read: FieldReader, line: Json): string {
  if (isObject(line.host)) {
    const host = line.host
    return read.string(host, 'name', 'host/name') || read.string(host, 'hostname', 'host/hostname')
  }
  return read.string(line, 'host') || read.string(line, 'hostname')
}
