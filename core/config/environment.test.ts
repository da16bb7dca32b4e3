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

it('reads the browser settings the snippet and the collect routes use, and refuses a bad proxy list', async () => {
  const { loadConfig, ConfigError } = await import('./load.ts')
  const config = loadConfig({
    EDDY_WRITE_KEY: 'w'.repeat(12), EDDY_READ_KEY: 'r'.repeat(12),
    EDDY_SNIPPET_PATH: '/js/site.js', EDDY_COLLECT_PATH: '/e', EDDY_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::1', EDDY_VISITOR_SECRET: 's'.repeat(32),
  })
  expect(config.ingest).toMatchObject({ scriptPath: '/js/site.js', collectPath: '/e', trustedProxies: ['10.0.0.0/8', '2001:db8::1'], visitorSecret: 's'.repeat(32) })
  expect(() => loadConfig({ EDDY_WRITE_KEY: 'w'.repeat(12), EDDY_READ_KEY: 'r'.repeat(12), EDDY_TRUSTED_PROXIES: '10.0.0.0/99' })).toThrow(ConfigError)
  expect(() => loadConfig({ EDDY_WRITE_KEY: 'w'.repeat(12), EDDY_READ_KEY: 'r'.repeat(12), EDDY_SNIPPET_PATH: 'eddy.js' })).toThrow(/scriptPath/)
})
