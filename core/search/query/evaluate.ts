import type { SearchNode } from './ast.ts'
import { containsPhrase } from './phrase.ts'
import type { SearchSchema } from './schema.ts'
import { tokenize } from './tokens.ts'

/**
 * A document as the evaluator sees it: each field's value ('' or missing when absent) and the
 * attributes map.
 */
export type SearchDocument = Readonly<Record<string, unknown>>

/**
 * The query language's own answer for one document: the oracle both backends are held to (the
 * SearchStore contract). Absent fields are ''. An attribute clause needs the key present, so its
 * negation matches documents without the key.
 */
export function matchesDocument(node: SearchNode, schema: SearchSchema, document: SearchDocument): boolean {
  let tokens: string[] | undefined
  const textTokens = () => (tokens ??= tokenize(stringOf(document[schema.text.name])))
  const attributes = document[schema.attributes.name]
  const attribute = (key: string): string | undefined => {
    if (!attributes || typeof attributes !== 'object' || !Object.hasOwn(attributes, key)) return undefined
    const value = (attributes as Record<string, unknown>)[key]
    return typeof value === 'string' ? value : undefined
  }

  const matches = (current: SearchNode): boolean => {
    switch (current.kind) {
      case 'match-all':
        return true
      case 'and':
        return current.children.every(matches)
      case 'or':
        return current.children.some(matches)
      case 'not':
        return !matches(current.child)
      case 'text-term':
        return textTokens().includes(current.token)
      case 'text-phrase':
        return containsPhrase(textTokens(), current.tokens)
      case 'keyword-equals':
        return stringOf(document[current.field]) === current.value
      case 'keyword-prefix':
        return stringOf(document[current.field]).startsWith(current.prefix)
      case 'attribute-equals':
        return attribute(current.key) === current.value
      case 'attribute-prefix':
        return attribute(current.key)?.startsWith(current.prefix) ?? false
    }
  }
  return matches(node)
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : ''
}
