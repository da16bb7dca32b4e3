/**
 * Writes dashboards/json/<name>.json from the TypeScript definitions in dashboards/src/
 * (`npm run dashboards`); `--check` exits non-zero when a committed file is stale or missing, or an
 * extra one is lying around (run by `npm test`).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DASHBOARDS, renderDashboard } from './src/index.ts'

export const JSON_DIR = join(import.meta.dirname, 'json')

/** Files that differ from what the definitions produce (stale, missing or unknown). */
export function staleDashboards(): string[] {
  const expected = new Map(Object.keys(DASHBOARDS).map((name) => [`${name}.json`, renderDashboard(name as keyof typeof DASHBOARDS)]))
  const present = existsSync(JSON_DIR) ? readdirSync(JSON_DIR).filter((file) => file.endsWith('.json')) : []
  const stale = [...expected].filter(([file, text]) => !present.includes(file) || readFileSync(join(JSON_DIR, file), 'utf8') !== text).map(([file]) => file)
  return [...stale, ...present.filter((file) => !expected.has(file))]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const stale = staleDashboards()
    if (stale.length > 0) {
      console.error(`dashboards/json is stale (${stale.join(', ')}): run \`npm run dashboards\``)
      process.exit(1)
    }
  } else {
    mkdirSync(JSON_DIR, { recursive: true })
    for (const name of Object.keys(DASHBOARDS)) writeFileSync(join(JSON_DIR, `${name}.json`), renderDashboard(name as keyof typeof DASHBOARDS))
  }
}
