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

const LEVELS: Record<string, LogLevel> = {
  trace: 'trace', debug: 'debug', info: 'info', information: 'info', notice: 'info', warn: 'warn', warning: 'warn',
  error: 'error', err: 'error', fatal: 'fatal', critical: 'fatal', crit: 'fatal', alert: 'fatal', emerg: 'fatal', emergency: 'fatal', panic: 'fatal',
}
/** pino/bunyan numeric levels. */
const NUMERIC_LEVELS: Array<[number, LogLevel]> = [[60, 'fatal'], [50, 'error'], [40, 'warn'], [30, 'info'], [20, 'debug'], [0, 'trace']]

/** Fields with a meaning of their own; every other field of a line becomes an attribute. */
const KNOWN = new Set(['event_id', 'id', 'timestamp', 'ts', 'time', '@timestamp', 'service', 'host', 'hostname', 'level', 'severity', 'message', 'msg', 'logger', 'trace_id', 'span_id', 'attributes'])

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
export function normaliseLogLine(line: unknown, index: number, context: LogContext): Normalised<LogEvent> {
  const read = new FieldReader(index)
  if (!isObject(line)) {
    read.fail('', 'must be a JSON object')
    return { ok: false, errors: read.errors }
  }
  const service = read.string(line, 'service', 'service', 200)
  if (!service) read.fail('service', 'is required')
  const message = typeof line.message === 'string' ? line.message : read.string(line, 'msg')
  if (line.message !== undefined && typeof line.message !== 'string') read.fail('message', 'must be a string')
  if (!message) read.fail('message', 'is required')
  const level = normaliseLogLevel(line.level ?? line.severity)
  if (!level) read.fail('level', `must be one of trace, debug, info, warn, error, fatal (or a pino number), got ${JSON.stringify(line.level ?? line.severity)}`)

  const ts = readEventTime(line.timestamp ?? line.ts ?? line.time ?? line['@timestamp'], context.receivedAt, context.bounds, (reason) => read.fail('timestamp', reason))
  const attributes = read.object(line, 'attributes')
  if (read.errors.length > 0 || !level) return { ok: false, errors: read.errors }

  const extra: Json = {}
  for (const [key, value] of Object.entries(line)) if (!KNOWN.has(key)) extra[key] = value
  return {
    ok: true,
    event: {
      event_id: eventIdFor(context.projectId, line.event_id ?? line.id),
      project_id: context.projectId,
      ts,
      received_at: context.receivedAt,
      service,
      host: read.string(line, 'host') || read.string(line, 'hostname'),
      level,
      message,
      logger: read.string(line, 'logger') || null,
      trace_id: read.string(line, 'trace_id') || null,
      span_id: read.string(line, 'span_id') || null,
      attributes: { ...stringMap(extra), ...stringMap(attributes) },
    },
  }
}
