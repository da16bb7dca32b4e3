import { LiqeError, parse as parseLucene, SyntaxError as LiqeSyntaxError, type LiteralExpressionToken, type ParserAst, type TagToken } from 'liqe'
import type { ParseError, ParseResult, SearchNode } from './ast.ts'
import { ATTRIBUTE_KEY, fieldNames, keywordField, MAX_ATTRIBUTE_KEY_LENGTH, type SearchSchema } from './schema.ts'
import { tokenize } from './tokens.ts'

export const QUERY_LIMITS = Object.freeze({
  /** Characters of query text. */
  text: 1_000,
  /** field:value clauses, words and phrases. */
  clauses: 32,
  /** Levels of parentheses. */
  depth: 8,
  /** Characters of one value. */
  value: 256,
})

const MATCH_ALL: SearchNode = Object.freeze({ kind: 'match-all' })

const QUOTING_HINT = 'values with other characters than letters, digits and _ - . @ # $ need double quotes, e.g. host:"10.0.0.1"'

/**
 * Parses Kibana-style query text with liqe and converts liqe's AST into Eddy's (ast.ts), checking
 * fields, values and limits on the way. Problems come back as a result naming the field, never as
 * an exception. The empty string matches everything.
 */
export function parseSearchQuery(text: string, schema: SearchSchema): ParseResult {
  if (text === '') return { ok: true, query: MATCH_ALL }
  if (text.length > QUERY_LIMITS.text) return { ok: false, reason: `the query is ${text.length} characters long, at most ${QUERY_LIMITS.text} are allowed` }
  if (text.trim() === '') return { ok: false, reason: 'the query is blank: leave it empty to match everything' }
  // Counted before liqe sees the text: its parser and the conversion below both recurse per level.
  if (parenthesisDepth(text) > QUERY_LIMITS.depth) return { ok: false, reason: `parentheses nest more than ${QUERY_LIMITS.depth} levels deep` }
  let ast: ParserAst
  try {
    ast = parseLucene(text)
  } catch (error) {
    return syntaxError(error, text)
  }
  try {
    return { ok: true, query: new Converter(text, schema).convert(ast, 0) }
  } catch (error) {
    if (error instanceof Rejection) return error.result
    throw error
  }
}

/**
 * The deepest the parentheses nest, outside "quoted" values and \-escapes, in one pass.
 * Unbalanced text is left to liqe, which names the character.
 */
export function parenthesisDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let quoted = false
  for (let index = 0; index < text.length; index++) {
    const character = text[index]
    if (character === '\\') index++
    else if (character === '"') quoted = !quoted
    else if (quoted) continue
    else if (character === '(') deepest = Math.max(deepest, ++depth)
    else if (character === ')') depth = Math.max(0, depth - 1)
  }
  return deepest
}

function syntaxError(error: unknown, text: string): ParseError {
  if (error instanceof LiqeSyntaxError) {
    const character = text[error.offset]
    const at = `syntax error at character ${error.offset + 1}${character === undefined ? '' : ` (${JSON.stringify(character)})`}`
    // Stumbling on a character inside a value is usually a value that needed quotes.
    const hint = character !== undefined && /[^\s()]/.test(character) ? `: ${QUOTING_HINT}` : ''
    return { ok: false, reason: `${at}${hint}`, position: error.offset }
  }
  if (error instanceof LiqeError) return { ok: false, reason: 'the query can be read in more than one way, as a - right before a number can: write NOT 404, or quote it: "-404"' }
  // liqe says "Found no parsings" when the text stops in the middle of an expression.
  return { ok: false, reason: 'the query is incomplete: AND, OR or NOT without a clause after it, or a quote or parenthesis left open' }
}

/** Unwinds the recursive conversion to parseSearchQuery, which returns it. */
class Rejection extends Error {
  constructor(readonly result: ParseError) {
    super(result.reason)
  }
}

function reject(field: string | undefined, reason: string): never {
  throw new Rejection(field === undefined ? { ok: false, reason } : { ok: false, field, reason })
}

interface Value {
  readonly text: string
  readonly quoted: boolean
}

class Converter {
  private clauses = 0

  constructor(private readonly text: string, private readonly schema: SearchSchema) {}

  convert(node: ParserAst, depth: number): SearchNode {
    switch (node.type) {
      case 'LogicalExpression':
        return this.chain(node, depth)
      case 'ParenthesizedExpression':
        if (node.expression.type === 'EmptyExpression') reject(undefined, 'empty parentheses')
        if (depth >= QUERY_LIMITS.depth) reject(undefined, `parentheses nest more than ${QUERY_LIMITS.depth} levels deep`)
        return this.convert(node.expression, depth + 1)
      case 'UnaryOperator':
        return { kind: 'not', child: this.convert(node.operand, depth) }
      case 'Tag':
        return this.clause(node)
      case 'EmptyExpression':
        return reject(undefined, 'the query is empty')
    }
  }

  /**
   * liqe reads `a OR b AND c` left to right as `(a OR b) AND c`, AND and OR alike. Kibana (and
   * boolean convention) binds AND tighter: `a OR (b AND c)`. So an unparenthesised run of
   * operators is taken back to its operands and regrouped: OR of ANDs, whitespace being AND.
   */
  private chain(node: ParserAst, depth: number): SearchNode {
    const operands: ParserAst[] = []
    const operators: Array<'AND' | 'OR'> = []
    const flatten = (inner: ParserAst): void => {
      if (inner.type !== 'LogicalExpression') return void operands.push(inner)
      flatten(inner.left)
      operators.push(inner.operator.operator)
      flatten(inner.right)
    }
    flatten(node)
    const groups: SearchNode[][] = [[]]
    operands.forEach((operand, index) => {
      if (index > 0 && operators[index - 1] === 'OR') groups.push([])
      groups.at(-1)!.push(this.convert(operand, depth))
    })
    return anyOf(groups.map(allOf))
  }

  private clause(tag: TagToken): SearchNode {
    const field = tag.field.type === 'Field' ? tag.field.name : undefined
    if (++this.clauses > QUERY_LIMITS.clauses) reject(undefined, `more than ${QUERY_LIMITS.clauses} clauses`)
    // A bare word has no operator, whatever liqe's types say.
    const operator = (tag as { readonly operator?: TagToken['operator'] }).operator?.operator ?? ':'
    if (operator !== ':') reject(field, `comparisons (${operator.slice(1)}) are not supported, only field:value`)
    const { expression } = tag
    if (expression.type === 'EmptyExpression') reject(field, 'no value after the colon')
    if (expression.type === 'RangeExpression') reject(field, 'ranges ([a TO b]) are not supported')
    if (expression.type === 'RegexExpression') reject(field, 'regular expressions are not supported; use prefix* or a "phrase"')
    const value = this.value(expression)
    if (value.text.length > QUERY_LIMITS.value) reject(field, `a value may be at most ${QUERY_LIMITS.value} characters`)

    if (field === undefined || field === this.schema.text.name) return textClause(field, value)
    if (keywordField(this.schema, field)) {
      const match = exactOrPrefix(field, value)
      return 'prefix' in match ? { kind: 'keyword-prefix', field, prefix: match.prefix } : { kind: 'keyword-equals', field, value: match.exact }
    }
    const attributes = this.schema.attributes.name
    if (field.startsWith(`${attributes}.`)) {
      const key = field.slice(attributes.length + 1)
      if (key.length > MAX_ATTRIBUTE_KEY_LENGTH || !ATTRIBUTE_KEY.test(key)) {
        reject(field, `an attribute key is 1 to ${MAX_ATTRIBUTE_KEY_LENGTH} letters, digits, _ and -, in parts separated by single dots`)
      }
      const match = exactOrPrefix(field, value)
      return 'prefix' in match ? { kind: 'attribute-prefix', key, prefix: match.prefix } : { kind: 'attribute-equals', key, value: match.exact }
    }
    if (field === attributes) reject(field, `name the attribute: ${attributes}.<key>:value`)
    return reject(field, `unknown field; the fields are ${fieldNames(this.schema).join(', ')}`)
  }

  /**
   * liqe turns unquoted numbers, true, false and null into JavaScript values; the query means the
   * characters typed (`007`, `1.50`), so those are read back from the text. (liqe's location end
   * is wrong for numbers, so the number is re-read from its start.)
   */
  private value(expression: LiteralExpressionToken): Value {
    if (expression.quoted) return { text: expression.value, quoted: true }
    if (typeof expression.value === 'string') return { text: expression.value, quoted: false }
    const typed = /^(?:-?\d+(?:\.\d+)?|true|false|null)/.exec(this.text.slice(expression.location.start))
    return { text: typed?.[0] ?? String(expression.value), quoted: false }
  }
}

/** A word is all of its tokens; a quoted phrase is its tokens in a row. */
function textClause(field: string | undefined, value: Value): SearchNode {
  if (!value.quoted && /[*?]/.test(value.text)) {
    reject(field, `${JSON.stringify(value.text)}: wildcards are not supported on the text, only whole words and "phrases"`)
  }
  const tokens = tokenize(value.text)
  if (tokens.length === 0) reject(field, `${JSON.stringify(value.text)} has no letters or digits to search for`)
  if (value.quoted && tokens.length > 1) return { kind: 'text-phrase', tokens }
  return allOf([...new Set(tokens)].map((token) => ({ kind: 'text-term', token })))
}

/** Unquoted values may end in one `*` (a prefix); quoted values are always exact. */
function exactOrPrefix(field: string, value: Value): { exact: string } | { prefix: string } {
  if (value.quoted) return { exact: value.text }
  if (value.text.includes('?')) reject(field, '? wildcards are not supported; quote the value to search for a literal ?')
  const star = value.text.indexOf('*')
  if (star === -1) return { exact: value.text }
  if (star !== value.text.length - 1) reject(field, '* is only supported once, at the end of a value (prefix*); quote the value to search for a literal *')
  return { prefix: value.text.slice(0, -1) }
}

function allOf(children: readonly SearchNode[]): SearchNode {
  return combine('and', children)
}

function anyOf(children: readonly SearchNode[]): SearchNode {
  return combine('or', children)
}

function combine(kind: 'and' | 'or', children: readonly SearchNode[]): SearchNode {
  const flat = children.flatMap((child) => (child.kind === kind ? child.children : [child]))
  return flat.length === 1 ? flat[0]! : { kind, children: flat }
}
