import { describe, expect, it } from 'vitest'
import type { SearchNode } from './ast.ts'
import { EDDY_TEXT_ANALYZER, toElasticsearchQuery } from './elasticsearch.ts'
import { parseSearchQuery } from './parse.ts'
import { LOG_SEARCH_SCHEMA } from './schema.ts'
import { HOSTILE_VALUES, hostileClauses } from './test-values.ts'
import { tokenize } from './tokens.ts'

function parsed(text: string): SearchNode {
  const result = parseSearchQuery(text, LOG_SEARCH_SCHEMA)
  if (!result.ok) throw new Error(result.reason)
  return result.query
}

const DSL_WORDS = new Set(['bool', 'filter', 'should', 'must_not', 'minimum_should_match', 'term', 'prefix', 'exists', 'field', 'match_phrase', 'query', 'analyzer', 'match_all'])
const FIELDS = new Set([...LOG_SEARCH_SCHEMA.keywords.map((field) => field.elasticsearch), LOG_SEARCH_SCHEMA.text.elasticsearch])

/** Every key of the DSL is a DSL word, a schema field or attributes.<key>; returns the string values. */
function walk(value: unknown, strings: string[] = []): string[] {
  if (typeof value === 'string') strings.push(value)
  else if (Array.isArray(value)) value.forEach((item) => walk(item, strings))
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      expect(DSL_WORDS.has(key) || FIELDS.has(key) || /^attributes\.(region|tier)$/.test(key), key).toBe(true)
      walk(inner, strings)
    }
  }
  return strings
}

describe('toElasticsearchQuery', () => {
  it('translates the documented example', () => {
    expect(toElasticsearchQuery(parsed('level:error service:checkout "connection refused" timeout -host:web-3 attributes.region:eu (level:warn OR level:error) service:api*'), LOG_SEARCH_SCHEMA)).toMatchInlineSnapshot(`
      {
        "bool": {
          "filter": [
            {
              "term": {
                "level": "error",
              },
            },
            {
              "term": {
                "service": "checkout",
              },
            },
            {
              "match_phrase": {
                "message_tokens": {
                  "analyzer": "whitespace",
                  "query": "connection refused",
                },
              },
            },
            {
              "term": {
                "message_tokens": "timeout",
              },
            },
            {
              "bool": {
                "must_not": [
                  {
                    "term": {
                      "host": "web-3",
                    },
                  },
                ],
              },
            },
            {
              "term": {
                "attributes.region": "eu",
              },
            },
            {
              "bool": {
                "minimum_should_match": 1,
                "should": [
                  {
                    "term": {
                      "level": "warn",
                    },
                  },
                  {
                    "term": {
                      "level": "error",
                    },
                  },
                ],
              },
            },
            {
              "prefix": {
                "service": "api",
              },
            },
          ],
        },
      }
    `)
  })

  it('asks for presence with attributes.key:* and matches every line with field:*', () => {
    expect(toElasticsearchQuery(parsed('attributes.tier:* service:*'), LOG_SEARCH_SCHEMA)).toMatchInlineSnapshot(`
      {
        "bool": {
          "filter": [
            {
              "exists": {
                "field": "attributes.tier",
              },
            },
            {
              "match_all": {},
            },
          ],
        },
      }
    `)
  })

  it.each(HOSTILE_VALUES)('puts %j only where a value goes, never into a key or a query string', (value) => {
    const query = toElasticsearchQuery({ kind: 'not', child: { kind: 'or', children: hostileClauses(value) } }, LOG_SEARCH_SCHEMA)
    expect(walk(query).filter((text) => text === value)).toHaveLength(4)
    expect(JSON.stringify(query)).not.toContain('query_string')
  })

  it('sends a phrase as the folded tokens, analysed by whitespace only', () => {
    expect(toElasticsearchQuery(parsed('"Connection-REFUSED (to) {x:String}"'), LOG_SEARCH_SCHEMA)).toEqual({
      match_phrase: { message_tokens: { query: 'connection refused to x string', analyzer: 'whitespace' } },
    })
  })

  it('refuses an attribute key that could change the field path', () => {
    expect(() => toElasticsearchQuery({ kind: 'attribute-equals', key: 'a..b', value: 'x' }, LOG_SEARCH_SCHEMA)).toThrow(/not a valid key/)
  })
})

describe('EDDY_TEXT_ANALYZER', () => {
  it('splits where the token rule does (its pattern read by JavaScript)', () => {
    const split = new RegExp(EDDY_TEXT_ANALYZER.tokenizer.eddy_tokens.pattern)
    const text = 'Connection_refused to 10.0.0.1:5432 café😀 «ok»\n—x'
    expect(text.split(split).filter(Boolean).map((token) => token.replace(/[A-Z]/g, (letter) => letter.toLowerCase()))).toEqual(tokenize(text))
    expect(EDDY_TEXT_ANALYZER.char_filter.eddy_ascii_fold.mappings).toHaveLength(26)
  })
})
