import type { FieldError } from '../../core/http/problem.ts'

export type Json = Record<string, unknown>

/** Longest string field an event may carry (UTF-16 code units), unless a field says less. */
export const MAX_STRING_LENGTH = 8_192
/** Longest identifier (user and anonymous ids, notification ids, error codes). */
export const MAX_IDENTIFIER_LENGTH = 256

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Collects field errors for one event while its fields are read. */
export class FieldReader {
  readonly errors: FieldError[] = []

  constructor(private readonly event: number, private readonly prefix = '') {}

  fail(field: string, reason: string): void {
    this.errors.push({ event: this.event, field: `${this.prefix}/${field}`, reason })
  }

  /** A string field, or '' when absent; anything else is an error. */
  string(source: Json, field: string, path: string = field, maxLength = MAX_STRING_LENGTH): string {
    const value = source[field]
    if (value === undefined || value === null) return ''
    if (typeof value !== 'string') {
      this.fail(path, `must be a string, got ${typeName(value)}`)
      return ''
    }
    if (value.length > maxLength) this.fail(path, `must be at most ${maxLength} characters`)
    return value
  }

  /** Like string, but numbers are accepted and written as text (ids are often numeric). */
  identifier(source: Json, field: string, path: string = field): string {
    const value = source[field]
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
    return this.string(source, field, path, MAX_IDENTIFIER_LENGTH)
  }

  object(source: Json, field: string, path: string = field): Json {
    const value = source[field]
    if (value === undefined || value === null) return {}
    if (!isObject(value)) {
      this.fail(path, `must be an object, got ${typeName(value)}`)
      return {}
    }
    return value
  }

  oneOf<T extends string>(value: string, allowed: readonly T[], path: string): T | undefined {
    if ((allowed as readonly string[]).includes(value)) return value as T
    this.fail(path, value === '' ? `is required (one of ${allowed.join(', ')})` : `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
    return undefined
  }
}

/** Avro maps hold strings: nested values are kept as JSON text rather than dropped. */
export function stringMap(source: Json): Record<string, string> {
  const map: Record<string, string> = {}
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined || value === null) continue
    map[key] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  return map
}

export function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`.slice(0, 60)
}
