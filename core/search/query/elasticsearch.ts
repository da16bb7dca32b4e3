import type { SearchNode } from './ast.ts'
import { ATTRIBUTE_KEY, keywordField, type SearchSchema } from './schema.ts'
import { SEPARATOR_CLASS } from './tokens.ts'

export type ElasticsearchQuery = Record<string, unknown>

/**
 * An analyzer that applies Eddy's token rule (tokens.ts) inside Elasticsearch, for an index
 * template that analyzes the text field itself: split on runs of ASCII characters that are not
 * letters or digits, fold A–Z only. Not `[^A-Za-z0-9\u0080-\uFFFF]`, which Java reads per code
 * point and so would split at emoji and other characters beyond U+FFFF; and not the `lowercase`
 * filter, which folds every script while ClickHouse folds ASCII only. It needs the analysis-common
 * module (pattern tokenizer, mapping char filter), which the minimal test node lacks; the committed
 * templates therefore index `<text>_tokens`, the tokens Eddy computed, under `whitespace`.
 */
export const EDDY_TEXT_ANALYZER = Object.freeze({
  analyzer: {
    eddy_text: { type: 'custom', char_filter: ['eddy_ascii_fold'], tokenizer: 'eddy_tokens' },
  },
  tokenizer: {
    eddy_tokens: { type: 'pattern', pattern: `${SEPARATOR_CLASS}+` },
  },
  char_filter: {
    eddy_ascii_fold: {
      type: 'mapping',
      mappings: [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((letter) => `${letter} => ${letter.toLowerCase()}`),
    },
  },
})

/**
 * The query as Elasticsearch query DSL for a filter context: bool, term, prefix, exists and
 * match_phrase only (never query_string), so user text is only ever a value. Text clauses go to the
 * schema's tokens field with tokens Eddy already folded: `term` per token, `match_phrase` with the
 * whitespace analyzer for a phrase, so Elasticsearch does no analysis of its own on the query.
 */
export function toElasticsearchQuery(node: SearchNode, schema: SearchSchema): ElasticsearchQuery {
  const text = schema.text.elasticsearch
  // The one piece of user text in a field name: checked again here, not only by the parser.
  const attribute = (key: string): string => {
    if (!ATTRIBUTE_KEY.test(key)) throw new Error(`attribute key ${JSON.stringify(key)} is not a valid key`)
    return `${schema.attributes.elasticsearch}.${key}`
  }
  const field = (name: string): string => {
    const found = keywordField(schema, name)
    if (!found) throw new Error(`no keyword field ${JSON.stringify(name)} in the schema`)
    return found.elasticsearch
  }

  const query = (current: SearchNode): ElasticsearchQuery => {
    switch (current.kind) {
      case 'match-all':
        return { match_all: {} }
      case 'and':
        return { bool: { filter: current.children.map(query) } }
      case 'or':
        return { bool: { should: current.children.map(query), minimum_should_match: 1 } }
      case 'not':
        return { bool: { must_not: [query(current.child)] } }
      case 'text-term':
        return { term: { [text]: current.token } }
      case 'text-phrase':
        return { match_phrase: { [text]: { query: current.tokens.join(' '), analyzer: 'whitespace' } } }
      case 'keyword-equals':
        return { term: { [field(current.field)]: current.value } }
      case 'keyword-prefix':
        // Every line has every keyword field ('' when absent), and a prefix query would miss
        // values beyond the mapping's ignore_above.
        if (current.prefix === '') return { match_all: {} }
        return { prefix: { [field(current.field)]: current.prefix } }
      case 'attribute-equals':
        return { term: { [attribute(current.key)]: current.value } }
      case 'attribute-prefix':
        if (current.prefix === '') return { exists: { field: attribute(current.key) } }
        return { prefix: { [attribute(current.key)]: current.prefix } }
    }
  }
  return query(node)
}
