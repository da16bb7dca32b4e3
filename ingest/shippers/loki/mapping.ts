import { isObject, type Json } from '../../normalise/fields.ts'
import { shipperLevel, type ShippedLine } from '../accept.ts'

/** One Loki stream in either encoding: its labels and entries (nanosecond timestamps as decimal strings). */
export interface LokiStream {
  readonly labels: Record<string, string>
  readonly entries: ReadonlyArray<{ readonly nanos: string; readonly line: string; readonly metadata: Record<string, string> }>
  /** Pointer of the stream in the request, for error reports. */
  readonly pointer: string
  readonly error?: string
}

/** Labels Loki itself looks at, in its order, to find a stream's service (its `service_name` discovery). */
const SERVICE_LABELS = ['service_name', 'service', 'app', 'application', 'name', 'app_kubernetes_io_name', 'container', 'container_name', 'component', 'workload', 'job']
const HOST_LABELS = ['host', 'hostname', 'instance', 'node_name', 'nodename']
const LEVEL_LABELS = ['level', 'detected_level', 'severity', 'lvl', 'loglevel']
const TRACE_KEYS = ['trace_id', 'traceID', 'traceId']
const SPAN_KEYS = ['span_id', 'spanID', 'spanId']

/**
 * Loki push streams onto Eddy's log line shape: service from the first of SERVICE_LABELS, host and
 * level from their usual labels or structured metadata (else `info`), trace and span ids from
 * structured metadata, every other label and metadata pair an attribute.
 *
 * event_id is derived from (labels, timestamp in ns, line): Loki itself stores an entry with the
 * same stream, timestamp and line once, so Promtail and Alloy already rely on exactly this
 * identity, and a retried push deduplicates without merging lines Loki would have kept apart.
 */
export function lokiToLines(streams: readonly LokiStream[]): ShippedLine[] {
  const lines: ShippedLine[] = []
  for (const stream of streams) {
    if (stream.error) {
      lines.push({ position: lines.length, pointer: stream.pointer, error: stream.error })
      continue
    }
    const identity = Object.keys(stream.labels).sort().map((key) => `${key}=${stream.labels[key]}`).join(',')
    stream.entries.forEach((entry, index) => {
      const pointer = `${stream.pointer}/${index}`
      if (!/^\d{1,20}$/.test(entry.nanos)) {
        lines.push({ position: lines.length, pointer, error: `the timestamp must be nanoseconds since the epoch as a decimal string, got ${JSON.stringify(entry.nanos).slice(0, 40)}` })
        return
      }
      const labels: Record<string, string> = { ...stream.labels, ...entry.metadata }
      const service = takeFirst(labels, SERVICE_LABELS) ?? 'unknown_service'
      const host = takeFirst(labels, HOST_LABELS) ?? ''
      const levelWord = takeFirst(labels, LEVEL_LABELS)
      const traceId = takeFirst(labels, TRACE_KEYS)
      const spanId = takeFirst(labels, SPAN_KEYS)
      const attributes: Record<string, string> = { ...labels }
      const level = shipperLevel(levelWord, attributes)
      lines.push({
        position: lines.length,
        pointer,
        line: {
          event_id: `loki:${identity}\u0000${entry.nanos}\u0000${entry.line}`,
          timestamp: Number(BigInt(entry.nanos) / 1_000_000n),
          service,
          host,
          level,
          message: entry.line,
          trace_id: traceId ?? null,
          span_id: spanId ?? null,
          attributes,
        },
      })
    })
  }
  return lines
}

function takeFirst(labels: Record<string, string>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = labels[key]
    if (value !== undefined && value !== '') {
      delete labels[key]
      return value
    }
  }
  return undefined
}

/** `{"streams":[{"stream":{…},"values":[["<ns>","<line>",{…metadata}]]}]}` (Loki's JSON push). */
export function lokiJsonStreams(body: unknown): LokiStream[] {
  if (!isObject(body) || !Array.isArray(body.streams)) {
    return [{ labels: {}, entries: [], pointer: '/streams', error: 'the body must be {"streams": [...]}' }]
  }
  return body.streams.map((stream: unknown, s: number): LokiStream => {
    const pointer = `/streams/${s}/values`
    if (!isObject(stream) || !Array.isArray(stream.values)) return { labels: {}, entries: [], pointer, error: 'a stream needs "stream" labels and a "values" array' }
    const labels = isObject(stream.stream) ? stringPairs(stream.stream) : {}
    const entries = stream.values.map((value: unknown) => {
      if (!Array.isArray(value) || typeof value[1] !== 'string') return { nanos: '', line: '', metadata: {} }
      return { nanos: String(value[0]), line: value[1], metadata: isObject(value[2]) ? stringPairs(value[2]) : {} }
    })
    return { labels, entries, pointer }
  })
}

/** PushRequest decoded by protobufjs (see proto.ts): labels as Prometheus text, Timestamp entries. */
export function lokiProtobufStreams(request: Json): LokiStream[] {
  const streams = Array.isArray(request.streams) ? request.streams.filter(isObject) : []
  return streams.map((stream, s): LokiStream => {
    const pointer = `/streams/${s}/entries`
    let labels: Record<string, string>
    try {
      labels = parseLabels(typeof stream.labels === 'string' ? stream.labels : '{}')
    } catch (error) {
      return { labels: {}, entries: [], pointer, error: (error as Error).message }
    }
    const entries = (Array.isArray(stream.entries) ? stream.entries.filter(isObject) : []).map((entry) => {
      const timestamp = isObject(entry.timestamp) ? entry.timestamp : {}
      const nanos = BigInt(String(timestamp.seconds ?? '0')) * 1_000_000_000n + BigInt(Number(timestamp.nanos ?? 0))
      const metadata: Record<string, string> = {}
      for (const pair of Array.isArray(entry.structuredMetadata) ? entry.structuredMetadata.filter(isObject) : []) {
        if (typeof pair.name === 'string') metadata[pair.name] = typeof pair.value === 'string' ? pair.value : ''
      }
      return { nanos: nanos.toString(), line: typeof entry.line === 'string' ? entry.line : '', metadata }
    })
    return { labels, entries, pointer }
  })
}

function stringPairs(source: Json): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(source)) if (value !== undefined && value !== null) out[key] = typeof value === 'string' ? value : JSON.stringify(value)
  return out
}

/**
 * A stream selector in Prometheus text form, `{job="varlogs", filename="/var/log/a \"b\".log"}`,
 * as Promtail and Alloy write PushRequest.labels. Label values use Go string escapes.
 */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  const source = text.trim()
  if (!source.startsWith('{') || !source.endsWith('}')) throw new Error(`labels must look like {name="value", …}, got ${JSON.stringify(text).slice(0, 60)}`)
  const pattern = /\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y
  const body = source.slice(1, -1)
  pattern.lastIndex = 0
  while (pattern.lastIndex < body.length) {
    if (/^\s*$/.test(body.slice(pattern.lastIndex))) break
    const match = pattern.exec(body)
    if (!match) throw new Error(`labels must look like {name="value", …}, got ${JSON.stringify(text).slice(0, 60)}`)
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c))
  }
  return labels
}
