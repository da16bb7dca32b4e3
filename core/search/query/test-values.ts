import type { SearchNode } from './ast.ts'

/**
 * Values a user might send to break out of a value in SQL, a pattern or the query DSL: quotes,
 * parentheses, ClickHouse placeholders, escapes, newlines, regex syntax. The translator tests
 * check each only ever travels as a value.
 */
export const HOSTILE_VALUES: readonly string[] = [
  "it's",
  "') OR 1=1 --",
  '{x:String}',
  '{q0:String}',
  'back\\slash\\',
  'line\nbreak\r\n',
  '.*+?()[]{}|^$\\1(?=x)',
  '"double" `tick`',
  '; DROP TABLE eddy.events_log',
  'ünï😀 \u0000',
]

/** Every clause that carries a value as typed, with `value` in it. */
export function hostileClauses(value: string): SearchNode[] {
  return [
    { kind: 'keyword-equals', field: 'service', value },
    { kind: 'keyword-prefix', field: 'host', prefix: value },
    { kind: 'attribute-equals', key: 'region', value },
    { kind: 'attribute-prefix', key: 'tier', prefix: value },
  ]
}
