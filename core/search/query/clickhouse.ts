import type { SearchNode } from './ast.ts'
import { phrasePattern } from './phrase.ts'
import { keywordField, type SearchSchema } from './schema.ts'

export interface ClickHouseCondition {
  /** A boolean expression for a WHERE clause. */
  readonly sql: string
  /** Its `{name:String}` parameters; every name starts with the prefix given. */
  readonly params: Record<string, string>
}

const PARAMETER_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * The query as a ClickHouse condition. Everything the user typed — values, tokens, attribute keys,
 * the phrase pattern — is a bound `{prefixN:String}` parameter; the SQL text is made of the
 * schema's column names and fixed functions only. Free text uses `hasTokenCaseInsensitive`, which
 * the token bloom filter on the text column can answer, and a phrase adds `match` with a pattern
 * of the same token rule (phrase.ts) after the per-token checks, so the index still prunes.
 * Attribute clauses check `mapContains` first: a missing key reads as '' and must not equal ''.
 */
export function toClickHouseCondition(node: SearchNode, schema: SearchSchema, prefix = 'q'): ClickHouseCondition {
  if (!PARAMETER_PREFIX.test(prefix)) throw new Error(`parameter prefix ${JSON.stringify(prefix)} is not an identifier`)
  const params: Record<string, string> = {}
  let next = 0
  const bind = (value: string): string => {
    const name = `${prefix}${next++}`
    params[name] = value
    return `{${name}:String}`
  }
  const text = schema.text.column
  const map = schema.attributes.column
  const column = (field: string): string => {
    const found = keywordField(schema, field)
    if (!found) throw new Error(`no keyword field ${JSON.stringify(field)} in the schema`)
    return found.column
  }
  const hasToken = (token: string) => `hasTokenCaseInsensitive(${text}, ${bind(token)})`

  const condition = (current: SearchNode): string => {
    switch (current.kind) {
      case 'match-all':
        return '1'
      case 'and':
        return current.children.map((child) => `(${condition(child)})`).join(' AND ')
      case 'or':
        return current.children.map((child) => `(${condition(child)})`).join(' OR ')
      case 'not':
        return `NOT (${condition(current.child)})`
      case 'text-term':
        return hasToken(current.token)
      case 'text-phrase':
        return [...[...new Set(current.tokens)].map(hasToken), `match(${text}, ${bind(phrasePattern(current.tokens))})`].join(' AND ')
      case 'keyword-equals':
        return `${column(current.field)} = ${bind(current.value)}`
      case 'keyword-prefix':
        return `startsWith(${column(current.field)}, ${bind(current.prefix)})`
      case 'attribute-equals': {
        const key = bind(current.key)
        return `mapContains(${map}, ${key}) AND ${map}[${key}] = ${bind(current.value)}`
      }
      case 'attribute-prefix': {
        const key = bind(current.key)
        if (current.prefix === '') return `mapContains(${map}, ${key})`
        return `mapContains(${map}, ${key}) AND startsWith(${map}[${key}], ${bind(current.prefix)})`
      }
    }
  }
  return { sql: condition(node), params }
}
