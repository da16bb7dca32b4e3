/**
 * What can be searched in each stream and where it lives in each backend. Column and field names
 * reach SQL and the query DSL only from here, never from the query text.
 */
export interface SearchField {
  /** The name in the query language (`level:error`). */
  readonly name: string
  /** ClickHouse column. */
  readonly column: string
  /** Elasticsearch field. */
  readonly elasticsearch: string
}

export interface SearchSchema {
  /** Exact-match string fields. */
  readonly keywords: readonly SearchField[]
  /**
   * The free-text field. In Elasticsearch it is searched through its `<name>_tokens` twin, which
   * holds Eddy's own tokens (core/search/elasticsearch/documents.ts), so term and phrase queries
   * there see exactly the tokens ClickHouse and the evaluator see.
   */
  readonly text: SearchField
  /** The string map, queried as `attributes.<key>:value`. */
  readonly attributes: SearchField
}

const same = (name: string): SearchField => ({ name, column: name, elasticsearch: name })
const textField = (name: string): SearchField => ({ name, column: name, elasticsearch: `${name}_tokens` })

export const LOG_SEARCH_SCHEMA: SearchSchema = deepFreeze({
  keywords: ['service', 'level', 'host', 'trace_id', 'span_id', 'logger'].map(same),
  text: textField('message'),
  attributes: same('attributes'),
})

export const NOTIFICATION_SEARCH_SCHEMA: SearchSchema = deepFreeze({
  keywords: ['notification_id', 'channel', 'provider', 'template', 'user_id', 'status', 'error_code'].map(same),
  text: textField('error_message'),
  attributes: same('attributes'),
})

/** By stream (core/search/port.ts `SearchStream`). */
export const SEARCH_SCHEMAS = Object.freeze({ log: LOG_SEARCH_SCHEMA, notification: NOTIFICATION_SEARCH_SCHEMA })

/** Attribute keys people can query: dot-separated parts of letters, digits, `_` and `-`. */
export const ATTRIBUTE_KEY = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/
export const MAX_ATTRIBUTE_KEY_LENGTH = 100

export function keywordField(schema: SearchSchema, name: string): SearchField | undefined {
  return schema.keywords.find((field) => field.name === name)
}

/** Every field name the language accepts, for error messages. */
export function fieldNames(schema: SearchSchema): string[] {
  return [...schema.keywords.map((field) => field.name), schema.text.name, `${schema.attributes.name}.<key>`]
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
