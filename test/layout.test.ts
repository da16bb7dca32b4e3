import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** What ships: `eddy` runs from these folders (the Dockerfile copies them), so none may need bench/ or test/. */
const PRODUCT = ['bin', 'cli', 'core', 'ingest', 'processors', 'api', 'schemas', 'traffic']

function sources(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|js|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !path.includes(`${join(ROOT, folder)}/node_modules`))
}

/** Relative imports of a source file, resolved to paths under the repository. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((match) => relative(ROOT, resolve(dirname(file), match[1]!)))
}

describe('layout', () => {
  it('the product never imports from bench/ or test/ (benchmarks and tests import the product)', () => {
    const backwards: string[] = []
    for (const folder of PRODUCT) {
      for (const file of sources(folder)) {
        for (const target of importsOf(file)) {
          if (target.startsWith('bench/') || target.startsWith('test/')) backwards.push(`${relative(ROOT, file)} → ${target}`)
        }
      }
    }
    expect(backwards).toEqual([])
  })
})
