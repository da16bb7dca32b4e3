/**
 * Writes docs/errors.md from the services' error catalogues; `--check` fails when it is stale, so a
 * new code cannot ship undocumented.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { API_PROBLEMS } from '../api/errors.ts'
import type { ProblemDefinition } from '../core/http/problem.ts'
import { HTTP_PROBLEMS } from '../core/http/client-errors.ts'
import { INGEST_PROBLEMS } from '../ingest/errors.ts'

const OUTPUT = join(dirname(fileURLToPath(import.meta.url)), 'errors.md')

export function renderErrorsDoc(): string {
  const section = (title: string, problems: Record<string, ProblemDefinition>) => [
    `## ${title}`,
    '',
    '| code | status | title | meaning |',
    '|---|---|---|---|',
    ...Object.values(problems).map((p) => `| \`${p.code}\` | ${p.status} | ${p.title} | ${p.meaning.replaceAll('|', '\\|')} |`),
    '',
  ]
  return [
    '# Errors',
    '',
    'Every error is an RFC 9457 `application/problem+json` body:',
    '',
    '```json',
    '{ "type": "https://eddy.dev/problems/ingest-invalid-events", "title": "Invalid events", "status": 400,',
    '  "code": "INGEST_INVALID_EVENTS", "detail": "1 of 2 event(s) are invalid; nothing was accepted",',
    '  "errors": [{ "event": 1, "field": "/batch/1/timestamp", "reason": "must be an ISO 8601 date-time or epoch milliseconds" }] }',
    '```',
    '',
    '`code` is stable and never reused. `errors[].event` is the index of the event in the request (for NDJSON',
    'bodies, the 1-based line number); `errors[].field` is a JSON pointer into it.',
    '',
    'Generated from `ingest/errors.ts`, `api/errors.ts` and `core/http/client-errors.ts` by `npm run docs:errors`.',
    '',
    ...section('Ingest', INGEST_PROBLEMS),
    ...section('API', API_PROBLEMS),
    ...section('HTTP (before any route: ingest and the api alike)', HTTP_PROBLEMS),
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rendered = renderErrorsDoc()
  if (process.argv.includes('--check')) {
    if (readFileSync(OUTPUT, 'utf8') !== rendered) {
      console.error('docs/errors.md is stale: run `npm run docs:errors`')
      process.exit(1)
    }
  } else {
    writeFileSync(OUTPUT, rendered)
  }
}
