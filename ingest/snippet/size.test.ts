import { gzipSync } from 'node:zlib'
import { expect, it } from 'vitest'
import { buildSnippet } from './build.ts'

/** The budget of the script-tag build, minified and gzipped (docs/snippet.md). */
const BUDGET_BYTES = 2_500

it(`the snippet is at most ${BUDGET_BYTES} bytes minified and gzipped`, async () => {
  const { code } = await buildSnippet({ format: 'iife' })
  const gzipped = gzipSync(code, { level: 9 }).length
  console.log(`eddy.js: ${code.length} bytes minified, ${gzipped} bytes gzipped (budget ${BUDGET_BYTES})`)
  expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES)
})
