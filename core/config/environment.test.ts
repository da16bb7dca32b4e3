import { execSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { ENVIRONMENT } from './environment.ts'

it('the README documents every environment variable Eddy reads', () => {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8')
  for (const name of Object.keys(ENVIRONMENT)) expect(readme, name).toContain(`| \`${name}\` |`)
})

it('nothing outside the config loader and the entry points reads process.env', () => {
  const offenders = execSync("grep -rn 'process\\.env' --include=*.ts core ingest processors api schemas || true", { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' })
    .split('\n').filter(Boolean)
    .map((line) => { const [file, , ...code] = line.split(':'); return { file: file!, code: code.join(':').trim() } })
    .filter(({ file, code }) => !file.endsWith('.test.ts') && !code.startsWith('*') && !code.startsWith('//'))
    .map(({ file }) => file)
  expect(offenders).toEqual([])
})
