import { isObject, type Json } from '../../normalise/fields.ts'
import type { LogLevel } from '../../../schemas/types.generated.ts'
import { flattenAttributes } from '../attributes.ts'
import { shipperLevel, type ShippedLine } from '../accept.ts'

/**
 * OTLP logs (ExportLogsServiceRequest) onto Eddy's log line shape. One function serves both
 * encodings: protobuf is decoded by protobufjs to the same camelCase object OTLP/JSON uses, with
 * 64-bit numbers as decimal strings and bytes as arrays (JSON carries trace ids as hex).
 *
 * | OTLP                                             | Eddy                                   |
 * |--------------------------------------------------|----------------------------------------|
 * | resource `service.name` (else `unknown_service`) | service                                |
 * | resource `host.name` (else `host.hostname`)      | host                                   |
 * | `severityNumber` 1–4…21–24, else `severityText`  | level trace, debug, info, warn, error, fatal |
 * | `timeUnixNano`, else `observedTimeUnixNano`      | ts (ms); absent means received_at      |
 * | `body` (string; anything else as JSON text)      | message                                |
 * | scope `name`                                     | logger                                 |
 * | `traceId`, `spanId` (hex)                        | trace_id, span_id                      |
 * | resource, scope and record attributes            | attributes (dotted keys; record wins)  |
 * | attribute `log.record.uid`                       | event_id (retries deduplicate)         |
 */
export function otlpToLines(request: unknown): ShippedLine[] {
  const lines: ShippedLine[] = []
  if (!isObject(request)) return [{ position: 0, pointer: '', error: 'the body must be an ExportLogsServiceRequest object' }]
  list(request, 'resourceLogs').forEach((resourceLogs, r) => {
    const resource = keyValues(list(field(resourceLogs, 'resource'), 'attributes'))
    list(resourceLogs, 'scopeLogs').forEach((scopeLogs, s) => {
      const scope = field(scopeLogs, 'scope')
      const scopeAttributes = keyValues(list(scope, 'attributes'))
      list(scopeLogs, 'logRecords').forEach((record, l) => {
        const pointer = `/resourceLogs/${r}/scopeLogs/${s}/logRecords/${l}`
        try {
          lines.push({ position: lines.length, pointer, line: recordToLine(record, resource, scopeAttributes, scope) })
        } catch (error) {
          lines.push({ position: lines.length, pointer, error: (error as Error).message })
        }
      })
    })
  })
  return lines
}

function recordToLine(record: Json, resource: Json, scopeAttributes: Json, scope: unknown): Json {
  const attributes: Record<string, string> = {}
  const resourceRest = { ...resource }
  const service = takeString(resourceRest, 'service.name') ?? 'unknown_service'
  const host = takeString(resourceRest, 'host.name') ?? takeString(resourceRest, 'host.hostname') ?? ''
  flattenAttributes(resourceRest, attributes)
  flattenAttributes(scopeAttributes, attributes)
  const own = keyValues(list(record, 'attributes'))
  const uid = own['log.record.uid']
  flattenAttributes(own, attributes)

  const severityNumber = Number(field(record, 'severityNumber') ?? 0)
  const severityText = field(record, 'severityText')
  let level: LogLevel
  const text = typeof severityText === 'string' && severityText !== '' ? severityText : undefined
  // The number is normative; the text is the source's own word, kept as an attribute either way.
  level = severityNumber >= 1 && severityNumber <= 24 ? SEVERITY_LEVELS[Math.floor((severityNumber - 1) / 4)]! : shipperLevel(text, attributes)
  if (text) attributes.severity_text = text
  const eventName = field(record, 'eventName')
  if (typeof eventName === 'string' && eventName !== '') attributes.event_name = eventName

  const body = anyValue(field(record, 'body'))
  const message = body === undefined ? (typeof eventName === 'string' ? eventName : '') : typeof body === 'string' ? body : JSON.stringify(body)
  const scopeName = isObject(scope) && typeof scope.name === 'string' && scope.name !== '' ? scope.name : null
  return {
    ...(typeof uid === 'string' && uid !== '' ? { event_id: `otlp:log.record.uid:${uid}` } : {}),
    timestamp: nanosToMillis(field(record, 'timeUnixNano')) ?? nanosToMillis(field(record, 'observedTimeUnixNano')),
    service,
    host,
    level,
    message,
    logger: scopeName,
    trace_id: hexId(field(record, 'traceId'), 16),
    span_id: hexId(field(record, 'spanId'), 8),
    attributes,
  }
}

const SEVERITY_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']

/** A field by its JSON (lowerCamelCase) name, or by its proto name, which OTLP/JSON receivers also accept. */
function field(source: unknown, name: string): unknown {
  if (!isObject(source)) return undefined
  const value = source[name]
  return value !== undefined ? value : source[name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]
}

function list(source: unknown, name: string): Json[] {
  const value = field(source, name)
  return Array.isArray(value) ? value.filter(isObject) : []
}

function keyValues(pairs: readonly Json[]): Json {
  const out: Json = {}
  for (const pair of pairs) if (typeof pair.key === 'string') out[pair.key] = anyValue(pair.value)
  return out
}

function takeString(source: Json, key: string): string | undefined {
  const value = source[key]
  if (typeof value !== 'string' || value === '') return undefined
  delete source[key]
  return value
}

/** AnyValue as a plain value: strings, numbers, booleans, arrays and objects; bytes as base64. */
export function anyValue(value: unknown): unknown {
  if (!isObject(value)) return undefined
  if (value.stringValue !== undefined || value.string_value !== undefined) return field(value, 'stringValue')
  if (value.boolValue !== undefined || value.bool_value !== undefined) return field(value, 'boolValue')
  const int = field(value, 'intValue')
  if (int !== undefined) {
    const number = Number(int)
    return Number.isSafeInteger(number) ? number : String(int)
  }
  const double = field(value, 'doubleValue')
  if (double !== undefined) return Number(double)
  const array = field(value, 'arrayValue')
  if (array !== undefined) return list(array, 'values').map(anyValue)
  const kvlist = field(value, 'kvlistValue')
  if (kvlist !== undefined) return keyValues(list(kvlist, 'values'))
  const bytes = field(value, 'bytesValue')
  if (bytes !== undefined) return Array.isArray(bytes) ? Buffer.from(bytes as number[]).toString('base64') : String(bytes)
  return undefined
}

/** fixed64 nanoseconds (decimal string or number) as epoch ms; 0 and absent mean unknown. */
export function nanosToMillis(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '' || value === '0' || value === 0) return undefined
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error('timeUnixNano must be a decimal string of nanoseconds')
  let nanos: bigint
  try {
    nanos = BigInt(typeof value === 'number' ? Math.trunc(value) : value)
  } catch {
    throw new Error(`timeUnixNano must be a decimal string of nanoseconds, got ${JSON.stringify(value).slice(0, 40)}`)
  }
  const millis = Number(nanos / 1_000_000n)
  if (Math.abs(millis) > 8.64e15) throw new Error('timeUnixNano is beyond any representable time')
  return millis
}

/**
 * Trace and span ids as lower-case hex: protobuf gives bytes, OTLP/JSON hex. An id of the wrong
 * length or all zeroes is invalid by the OTLP spec and read as absent.
 */
export function hexId(value: unknown, length: number): string | null {
  let hex: string | undefined
  if (Array.isArray(value) || value instanceof Uint8Array) hex = Buffer.from(value as number[]).toString('hex')
  else if (typeof value === 'string' && new RegExp(`^[0-9a-fA-F]{${length * 2}}$`).test(value)) hex = value.toLowerCase()
  if (!hex || hex.length !== length * 2 || /^0+$/.test(hex)) return null
  return hex
}
