import { describe, expect, it } from 'vitest'
import { HIT_FIELDS, TEXT_FIELD } from '../fields.ts'
import { SEARCH_SCHEMAS } from './schema.ts'

describe('SEARCH_SCHEMAS', () => {
  it.each(['log', 'notification'] as const)('%s: every hit field is searchable, the text field is the stream\'s', (stream) => {
    const schema = SEARCH_SCHEMAS[stream]
    expect(schema.text.name).toBe(TEXT_FIELD[stream])
    expect([...schema.keywords.map((field) => field.name), schema.text.name].sort()).toEqual([...HIT_FIELDS[stream]].sort())
  })

  // These names are spliced into SQL and the DSL as they are.
  it('names columns and fields as plain identifiers', () => {
    for (const schema of Object.values(SEARCH_SCHEMAS)) {
      for (const field of [...schema.keywords, schema.text, schema.attributes]) {
        expect(field.column).toMatch(/^[a-z_][a-z0-9_]*$/)
        expect(field.elasticsearch).toMatch(/^[a-z_][a-z0-9_]*$/)
      }
    }
  })

  it('is frozen', () => {
    expect(Object.isFrozen(SEARCH_SCHEMAS.log.keywords[0])).toBe(true)
    expect(Object.isFrozen(SEARCH_SCHEMAS.notification.keywords)).toBe(true)
  })
})
