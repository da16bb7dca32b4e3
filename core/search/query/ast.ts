/**
 * Eddy's search query, as parsed: what the backends translate and the evaluator runs. Nothing
 * outside the parser sees liqe's AST. Text tokens are already case-folded (tokens.ts); field and
 * attribute values are exactly as typed.
 */
export type SearchNode =
  | MatchAll
  | And
  | Or
  | Not
  | TextTerm
  | TextPhrase
  | KeywordEquals
  | KeywordPrefix
  | AttributeEquals
  | AttributePrefix

/** The empty query. */
export interface MatchAll {
  readonly kind: 'match-all'
}

/** Two or more children, never a child of the same kind (the parser flattens them). */
export interface And {
  readonly kind: 'and'
  readonly children: readonly SearchNode[]
}

export interface Or {
  readonly kind: 'or'
  readonly children: readonly SearchNode[]
}

export interface Not {
  readonly kind: 'not'
  readonly child: SearchNode
}

/** One token occurs in the text field. A word of several tokens is an `and` of these. */
export interface TextTerm {
  readonly kind: 'text-term'
  readonly token: string
}

/** Two or more tokens occur consecutively in the text field (a phrase of one token is a term). */
export interface TextPhrase {
  readonly kind: 'text-phrase'
  readonly tokens: readonly string[]
}

/** The keyword field equals the value, case-sensitively. */
export interface KeywordEquals {
  readonly kind: 'keyword-equals'
  readonly field: string
  readonly value: string
}

/** The keyword field starts with the prefix; '' (`field:*`) is every line. */
export interface KeywordPrefix {
  readonly kind: 'keyword-prefix'
  readonly field: string
  readonly prefix: string
}

/** The attribute is present and equals the value. */
export interface AttributeEquals {
  readonly kind: 'attribute-equals'
  readonly key: string
  readonly value: string
}

/** The attribute is present and starts with the prefix; '' (`attributes.key:*`) is "present". */
export interface AttributePrefix {
  readonly kind: 'attribute-prefix'
  readonly key: string
  readonly prefix: string
}

export type ParseResult = { readonly ok: true; readonly query: SearchNode } | ParseError

export interface ParseError {
  readonly ok: false
  /** The field the problem is about, as the user wrote it (absent for free text and syntax). */
  readonly field?: string
  readonly reason: string
  /** Offset in the query text, when known (syntax errors). */
  readonly position?: number
}
