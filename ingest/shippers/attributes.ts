import { isObject } from '../normalise/fields.ts'

/** Most attributes a shipped line keeps; the rest are dropped and counted in `eddy.dropped_attributes`. */
export const MAX_ATTRIBUTES = 128
const MAX_DEPTH = 6

/**
 * Nested shipper documents (ECS, Kubernetes metadata) flattened to the dotted keys Elasticsearch
 * and OpenTelemetry users already query by (`log.file.path`, `k8s.pod.name`); arrays and values
 * deeper than a few levels are kept as JSON text, because an Avro map holds strings only.
 */
export function flattenAttributes(source: Record<string, unknown>, into: Record<string, string> = {}, prefix = '', depth = 0): Record<string, string> {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined || value === null) continue
    const name = prefix === '' ? key : `${prefix}.${key}`
    if (isObject(value) && depth < MAX_DEPTH) {
      flattenAttributes(value, into, name, depth + 1)
      continue
    }
    if (Object.keys(into).length >= MAX_ATTRIBUTES) {
      into['eddy.dropped_attributes'] = String(Number(into['eddy.dropped_attributes'] ?? 0) + 1)
      continue
    }
    into[name] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  return into
}

/** The value at a dotted path, whether the document nests (`{log: {level}}`) or dots (`{"log.level"}`). */
export function pick(document: Record<string, unknown>, path: string): unknown {
  if (path in document) return document[path]
  const dot = path.indexOf('.')
  if (dot === -1) return undefined
  const head = document[path.slice(0, dot)]
  return isObject(head) ? pick(head, path.slice(dot + 1)) : undefined
}

/** Removes a dotted path (nested or flat) so that a field mapped to a column is not also an attribute. */
export function remove(document: Record<string, unknown>, path: string): void {
  if (path in document) {
    delete document[path]
    return
  }
  const dot = path.indexOf('.')
  if (dot === -1) return
  const head = document[path.slice(0, dot)]
  if (!isObject(head)) return
  remove(head, path.slice(dot + 1))
  if (Object.keys(head).length === 0) delete document[path.slice(0, dot)]
}

/** The first of `paths` that holds a non-empty string (or number), removed from the document. */
export function take(document: Record<string, unknown>, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const value = pick(document, path)
    if ((typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value))) {
      remove(document, path)
      return String(value)
    }
  }
  return undefined
}
