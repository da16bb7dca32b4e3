import { ProblemError } from '../../../core/http/problem.ts'
import { DEFAULT_MAX_NESTING_DEPTH } from '../../../core/http/nesting.ts'
import { INGEST_PROBLEMS } from '../../errors.ts'
import { lineTooDeep } from '../../nesting.ts'
import { isObject, type Json } from '../../normalise/fields.ts'
import { flattenAttributes, pick, remove, take } from '../attributes.ts'
import { shipperLevel, type ShippedLine } from '../accept.ts'

export type BulkAction = 'index' | 'create' | 'update' | 'delete'
export const BULK_ACTIONS: readonly BulkAction[] = ['index', 'create', 'update', 'delete']

/** One action of a `_bulk` body and its document (for index/create/update). */
export interface BulkItem {
  readonly action: BulkAction
  readonly index: string
  readonly id?: string
  /** 1-based line number of the action line in the body. */
  readonly line: number
  readonly document?: Json
  readonly error?: string
}

/**
 * The `_bulk` NDJSON body: action lines, each but `delete` followed by a source line. A broken
 * action line makes the rest unreadable (which line is a document?), so, as in Elasticsearch,
 * it fails the whole request; a broken document fails only its item.
 */
export function parseBulk(body: string, defaultIndex: string | undefined, maxNestingDepth = DEFAULT_MAX_NESTING_DEPTH): BulkItem[] {
  const items: BulkItem[] = []
  const lines = body.split('\n')
  for (let number = 0; number < lines.length; number++) {
    const text = lines[number]!.trim()
    if (text === '') continue
    let action: unknown
    try {
      action = JSON.parse(text)
    } catch (error) {
      throw malformed(number + 1, `the action line is not valid JSON: ${(error as Error).message}`)
    }
    const actionTooDeep = lineTooDeep(action, maxNestingDepth)
    if (actionTooDeep) throw malformed(number + 1, `the action line: ${actionTooDeep}`)
    const name = isObject(action) ? Object.keys(action)[0] : undefined
    const meta = name && isObject(action) ? action[name] : undefined
    if (!name || !(BULK_ACTIONS as readonly string[]).includes(name) || !isObject(meta)) {
      throw malformed(number + 1, 'expected an action line such as {"index":{"_index":"logs"}} or {"create":{}}')
    }
    const index = typeof meta._index === 'string' && meta._index !== '' ? meta._index : defaultIndex
    const id = typeof meta._id === 'string' || typeof meta._id === 'number' ? String(meta._id) : undefined
    const base = { action: name as BulkAction, index: index ?? '', id, line: number + 1 }
    if (name === 'delete') {
      items.push({ ...base, error: 'delete is not supported: Eddy stores logs append-only' })
      continue
    }
    number += 1
    const source = lines[number]?.trim()
    if (source === undefined || source === '') {
      items.push({ ...base, error: 'the action has no document line' })
      continue
    }
    if (name === 'update') {
      items.push({ ...base, error: 'update is not supported: Eddy stores logs append-only' })
      continue
    }
    if (!index) {
      items.push({ ...base, error: 'no index: name one in the action line or the URL (/es/<index>/_bulk)' })
      continue
    }
    try {
      const document = JSON.parse(source)
      // Flattening and the size check walk the document recursively.
      const tooDeep = lineTooDeep(document, maxNestingDepth)
      if (tooDeep) items.push({ ...base, error: `the document: ${tooDeep}` })
      else items.push(isObject(document) ? { ...base, document } : { ...base, error: 'the document must be a JSON object' })
    } catch (error) {
      items.push({ ...base, error: `the document is not valid JSON: ${(error as Error).message}` })
    }
  }
  return items
}

function malformed(line: number, reason: string): ProblemError {
  return new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, `line ${line}: ${reason}`, [{ event: line, field: '', reason }])
}

const TIME_PATHS = ['@timestamp', 'timestamp', 'time', 'date']
const MESSAGE_PATHS = ['message', 'msg', 'log', 'event.original']
const LEVEL_PATHS = ['log.level', 'level', 'severity', 'loglevel', 'log.syslog.severity.name', 'syslog.severity_label']
const SERVICE_PATHS = ['service.name', 'service', 'kubernetes.labels.app', 'kubernetes.container.name', 'kubernetes.container_name', 'container.name', 'app', 'application', 'fields.service']
const HOST_PATHS = ['host.name', 'host.hostname', 'hostname', 'host', 'agent.hostname']
const LOGGER_PATHS = ['log.logger', 'logger', 'logger_name']
const TRACE_PATHS = ['trace.id', 'trace_id', 'traceId']
const SPAN_PATHS = ['span.id', 'span_id', 'spanId']

/**
 * A `_bulk` document (ECS from Filebeat/Logstash/Elastic Agent, Fluent Bit records, Vector
 * events) onto Eddy's log line shape; which fields are read, in which order, is listed in
 * docs/log-shippers.md. Without a service field the index names the service, minus a trailing
 * date (`logstash-2026.11.22` → `logstash`), since an index per application is the common habit.
 *
 * event_id comes from `_id` (scoped to the index, as in Elasticsearch), so a shipper that resends
 * a batch with the same ids (Fluent Bit `Generate_ID On`, Logstash `document_id`, Vector
 * `id_key`) stores each document once; without `_id` delivery is at-least-once.
 */
export function bulkItemToLine(item: BulkItem, position: number): ShippedLine {
  const pointer = `/${position}`
  if (item.error || !item.document) return { position, pointer, error: item.error ?? 'no document' }
  const document: Json = structuredClone(item.document)
  const timeValue = TIME_PATHS.map((path) => [path, pick(document, path)] as const).find(([, value]) => value !== undefined && value !== null)
  if (timeValue) remove(document, timeValue[0])
  const message = take(document, MESSAGE_PATHS)
  if (message === undefined) return { position, pointer, error: 'the document has no message (message, msg, log or event.original)' }
  const levelWord = take(document, LEVEL_PATHS)
  const service = take(document, SERVICE_PATHS) ?? (item.index.replace(/[-_.]?\d{4}[.\-_]\d{2}[.\-_]\d{2}$/, '') || 'unknown_service')
  const host = take(document, HOST_PATHS) ?? ''
  const logger = take(document, LOGGER_PATHS) ?? null
  const traceId = take(document, TRACE_PATHS) ?? null
  const spanId = take(document, SPAN_PATHS) ?? null
  const attributes = flattenAttributes(document)
  attributes['elasticsearch.index'] = item.index
  const level = shipperLevel(levelWord, attributes)
  return {
    position,
    pointer,
    line: {
      ...(item.id !== undefined ? { event_id: `es:${item.index}\u0000${item.id}` } : {}),
      timestamp: timeValue?.[1],
      service,
      host,
      level,
      message,
      logger,
      trace_id: traceId,
      span_id: spanId,
      attributes,
    },
  }
}
