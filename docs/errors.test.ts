import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { API_PROBLEMS } from '../api/errors.ts'
import { HTTP_PROBLEMS } from '../core/http/client-errors.ts'
import { INGEST_PROBLEMS } from '../ingest/errors.ts'
import { renderErrorsDoc } from './generate-errors.ts'

it('documents every error code (docs/errors.md is current)', () => {
  const committed = readFileSync(join(import.meta.dirname, 'errors.md'), 'utf8')
  expect(committed, 'run `npm run docs:errors`').toBe(renderErrorsDoc())
  for (const code of [...Object.keys(INGEST_PROBLEMS), ...Object.keys(API_PROBLEMS), ...Object.keys(HTTP_PROBLEMS)]) expect(committed).toContain(`\`${code}\``)
})

it('never uses one code in two catalogues', () => {
  const codes = [...Object.keys(INGEST_PROBLEMS), ...Object.keys(API_PROBLEMS), ...Object.keys(HTTP_PROBLEMS)]
  expect(new Set(codes).size).toBe(codes.length)
})
