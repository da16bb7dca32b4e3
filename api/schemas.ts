import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox'
import { PERIOD_PATTERN } from './period.ts'
import { TIMEZONE_PATTERN } from './zoned-time.ts'

/** A string enum as plain JSON Schema `enum`, which OpenAPI tools render better than anyOf/const. */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string; default?: T[number] } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

/** A comma-separated list of values from a fixed set (`metrics=visitors,pageviews`). */
export function CommaList(values: readonly string[], description: string) {
  const one = `(${values.join('|')})`
  return Type.String({ pattern: `^${one}(,${one})*$`, description: `${description} Comma-separated: ${values.join(', ')}.` })
}

export function parseList<T extends string>(text: string | undefined, fallback: readonly T[]): T[] {
  if (text === undefined || text === '') return [...fallback]
  return [...new Set(text.split(','))] as T[]
}

export const PeriodProperties = {
  period: Type.Optional(Type.String({ pattern: PERIOD_PATTERN, description: 'realtime (last 30 minutes), today, yesterday, month, custom (with from/to), or a rolling 30m, 24h, or 7d (calendar days ending today). Default 7d.' })),
  from: Type.Optional(Type.String({ maxLength: 40, description: 'Start (inclusive): an ISO 8601 date-time (2026-11-22T10:00:00Z; without an offset it is local to timezone) or a date (start of that local day).' })),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'End (exclusive) as a date-time, or a date (inclusive: up to the end of that local day).' })),
  timezone: Type.Optional(Type.String({ maxLength: 64, pattern: TIMEZONE_PATTERN, description: 'IANA time zone (a tz database name such as Europe/Berlin; one Intl does not know is refused) for today, yesterday, day and hour buckets and dates without an offset. Default UTC.' })),
}

export const FiltersProperty = Type.Optional(Type.String({
  // Well under the 16 KB Node allows for the request line and headers together.
  maxLength: 8_000,
  description: 'JSON array of [operator, dimension, values]; operator is, is_not or contains; e.g. [["is","browser",["Firefox"]],["contains","path",["/blog"]]].',
}))

export const CursorProperties = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Rows per page (1 to 1000).' })),
  cursor: Type.Optional(Type.String({ maxLength: 2000, description: 'next_cursor of the previous page.' })),
}

export const PeriodOut = Type.Object({ from: Type.String(), to: Type.String(), timezone: Type.String() })

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  code: Type.String(),
  detail: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ event: Type.Optional(Type.Integer()), field: Type.String(), reason: Type.String() }))),
}, { description: 'RFC 9457 problem details (application/problem+json); see docs/errors.md.' })

/** A problem response: documented with the content type the api really sends. */
export const PROBLEM_RESPONSE = { description: 'A problem (docs/errors.md)', content: { 'application/problem+json': { schema: ProblemSchema } } }

/** Responses every read endpoint can give besides 200. */
export const ERROR_RESPONSES = {
  400: PROBLEM_RESPONSE,
  401: PROBLEM_RESPONSE,
  422: PROBLEM_RESPONSE,
  /** The read key's rate limit (API_RATE_LIMITED), or too many failed keys from the address (API_AUTH_THROTTLED). */
  429: PROBLEM_RESPONSE,
  /** Node's parser refuses a request line and headers over 16 KB (core/http/client-errors.ts). */
  431: PROBLEM_RESPONSE,
  503: PROBLEM_RESPONSE,
}

export const READ_KEY_SECURITY = [{ readKey: [] }]
