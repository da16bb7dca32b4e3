import { invalidInput } from './errors.ts'
import { millisRange, table, type ScopeParams } from './queries/sql.ts'

export const OPERATORS = ['is', 'is_not', 'contains'] as const
export type Operator = (typeof OPERATORS)[number]

/** Where each web dimension lives. A missing entry means that table cannot answer it. */
interface DimensionColumns {
  /** events_click (raw) column or expression. */
  readonly raw?: string
  /** sessions column (the session's entry page, entry referrer, …). */
  readonly sessions?: string
  /** clicks_1m `dimension` value. */
  readonly clicks?: string
}

/** Custom events keep their name; every page or screen view is the event `pageview`. */
export const EVENT_NAME = `if(type = 'pageview', 'pageview', name)`

export const WEB_DIMENSIONS = {
  path: { raw: 'path', clicks: 'path' },
  entry_page: { sessions: 'entry_path' },
  exit_page: { sessions: 'exit_path' },
  referrer: { raw: 'referrer_domain', sessions: 'referrer_domain', clicks: 'referrer_domain' },
  utm_source: { raw: 'utm_source', sessions: 'utm_source', clicks: 'utm_source' },
  utm_medium: { raw: 'utm_medium', sessions: 'utm_medium' },
  utm_campaign: { raw: 'utm_campaign', sessions: 'utm_campaign', clicks: 'utm_campaign' },
  utm_term: { raw: 'utm_term' },
  utm_content: { raw: 'utm_content' },
  browser: { raw: 'browser', sessions: 'browser', clicks: 'browser' },
  os: { raw: 'os', sessions: 'os', clicks: 'os' },
  device: { raw: 'device_type', sessions: 'device_type', clicks: 'device_type' },
  country: { raw: 'country', sessions: 'country', clicks: 'country' },
  event: { raw: EVENT_NAME },
} as const satisfies Record<string, DimensionColumns>

export type WebDimensionName = keyof typeof WEB_DIMENSIONS
/** A named dimension, or `property:<key>` for a custom property. */
export type WebDimension = WebDimensionName | `property:${string}`

export const PROPERTY_PREFIX = 'property:'
const PROPERTY_KEY = /^[\w.$-]{1,100}$/
export const DIMENSION_PATTERN = `^(${Object.keys(WEB_DIMENSIONS).join('|')}|property:[\\w.$-]{1,100})$`

export interface Filter {
  readonly operator: Operator
  readonly dimension: WebDimension
  readonly values: readonly string[]
}

export type Target = 'raw' | 'sessions' | 'clicks'

const MAX_FILTERS = 20
const MAX_VALUES = 50
const MAX_VALUE_LENGTH = 1_000

export function isWebDimension(name: string): name is WebDimension {
  if (name.startsWith(PROPERTY_PREFIX)) return PROPERTY_KEY.test(name.slice(PROPERTY_PREFIX.length))
  return Object.hasOwn(WEB_DIMENSIONS, name)
}

/**
 * `filters` is a JSON array of [operator, dimension, values], as Plausible's Stats API v2:
 * `[["is","browser",["Firefox","Chrome"]],["contains","path",["/blog"]]]`. Every problem names
 * its place, e.g. `querystring/filters/0/1`.
 */
export function parseFilters(text: string | undefined, field = 'querystring/filters'): Filter[] {
  if (text === undefined || text === '') return []
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw invalidInput(field, 'must be a JSON array such as [["is","path",["/pricing"]]]')
  }
  if (!Array.isArray(parsed)) throw invalidInput(field, 'must be a JSON array of [operator, dimension, values]')
  if (parsed.length > MAX_FILTERS) throw invalidInput(field, `at most ${MAX_FILTERS} filters`)
  return parsed.map((item, index) => parseFilter(item, `${field}/${index}`))
}

function parseFilter(item: unknown, field: string): Filter {
  if (!Array.isArray(item) || item.length !== 3) throw invalidInput(field, 'must be [operator, dimension, values]')
  const [operator, dimension, rawValues] = item as [unknown, unknown, unknown]
  if (typeof operator !== 'string' || !(OPERATORS as readonly string[]).includes(operator)) throw invalidInput(`${field}/0`, `must be one of ${OPERATORS.join(', ')}`)
  if (typeof dimension !== 'string' || !isWebDimension(dimension)) throw invalidInput(`${field}/1`, `must be one of ${Object.keys(WEB_DIMENSIONS).join(', ')} or property:<key>`)
  const values = typeof rawValues === 'string' ? [rawValues] : rawValues
  if (!Array.isArray(values) || values.length === 0 || values.length > MAX_VALUES) throw invalidInput(`${field}/2`, `must be a non-empty array of at most ${MAX_VALUES} strings`)
  values.forEach((value, index) => {
    if (typeof value !== 'string' || value.length > MAX_VALUE_LENGTH) throw invalidInput(`${field}/2/${index}`, `must be a string of at most ${MAX_VALUE_LENGTH} characters`)
  })
  return { operator: operator as Operator, dimension, values: values as string[] }
}

function columns(dimension: WebDimension): DimensionColumns {
  return dimension.startsWith(PROPERTY_PREFIX) ? { raw: 'properties' } : WEB_DIMENSIONS[dimension as WebDimensionName]
}

/** Whether `target` holds the dimension (raw reaches session dimensions through the sessions table). */
export function answers(target: Target, dimension: WebDimension): boolean {
  const where = columns(dimension)
  if (target === 'raw') return where.raw !== undefined || where.sessions !== undefined
  return where[target] !== undefined
}

/** The column expression of a dimension in raw or sessions; property keys become parameters. */
export function dimensionColumn(dimension: WebDimension, target: 'raw' | 'sessions', p: ScopeParams): string {
  if (dimension.startsWith(PROPERTY_PREFIX)) {
    if (target !== 'raw') throw new Error(`${dimension} is not in ${target}`)
    return `properties[${p.params.add(dimension.slice(PROPERTY_PREFIX.length), 'String')}]`
  }
  const column = WEB_DIMENSIONS[dimension as WebDimensionName] as DimensionColumns
  const found = column[target]
  if (found === undefined) throw new Error(`${dimension} is not in ${target}`)
  return found
}

export function valueCondition(column: string, filter: Filter, p: ScopeParams): string {
  const values = p.params.add(filter.values, 'Array(String)')
  if (filter.operator === 'is') return `has(${values}, ${column})`
  if (filter.operator === 'is_not') return `NOT has(${values}, ${column})`
  return `multiSearchAny(${column}, ${values})`
}

/**
 * WHERE conditions for a table. On raw events, an entry or exit page filter keeps the events of
 * visitors who had a session starting in the range with that entry or exit page: raw events do
 * not know where their session began.
 */
export function filterConditions(filters: readonly Filter[], target: 'raw' | 'sessions', p: ScopeParams): string[] {
  return filters.map((filter) => {
    const where = columns(filter.dimension)
    if (target === 'raw' && where.raw === undefined) {
      const sessionCondition = valueCondition(dimensionColumn(filter.dimension, 'sessions', p), filter, p)
      return `anonymous_id IN (SELECT anonymous_id FROM ${table(p.scope, 'sessions')} FINAL
    WHERE project_id = ${p.project} AND is_deleted = 0 AND ${millisRange('session_start', p)} AND ${sessionCondition})`
    }
    return valueCondition(dimensionColumn(filter.dimension, target, p), filter, p)
  })
}

/** Filters a table cannot answer, for a 400 that says which. */
export function unanswerable(filters: readonly Filter[], target: Target): Filter[] {
  return filters.filter((filter) => !answers(target, filter.dimension))
}

/** Events other than pageviews count only when asked for by name (filter or breakdown). */
export function eventScope(filters: readonly Filter[], breakdown?: WebDimension): string {
  const byName = breakdown === 'event' || filters.some((filter) => filter.dimension === 'event')
  return byName ? `type IN ('pageview', 'custom', 'click')` : `type = 'pageview'`
}
