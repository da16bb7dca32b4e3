import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { temporaryDirectory } from '../support/temp-dir.ts'

const EDDY = join(import.meta.dirname, '../../bin/eddy.js')
const run = (args: string[], env: Record<string, string> = {}) => {
  const directory = temporaryDirectory('cli')
  try {
    const result = spawnSync(process.execPath, [EDDY, ...args], { env: { PATH: process.env.PATH, EDDY_DATA_DIR: directory.path, LOG_LEVEL: 'silent', ...env }, encoding: 'utf8', timeout: 30_000 })
    return { status: result.status, stdout: result.stdout, stderr: result.stderr }
  } finally {
    directory.remove()
  }
}

describe('eddy CLI', () => {
  it('lists the commands', () => {
    const result = run(['--help'])
    expect(result.status).toBe(0)
    for (const command of ['start', 'ingest', 'process', 'api', 'migrate', 'demo']) expect(result.stdout).toContain(`  ${command} `)
  })

  it.each(['start', 'ingest', 'process', 'api', 'migrate', 'demo'])('has --help for %s', (command) => {
    const result = run([command, '--help'])
    expect(result.status).toBe(0)
    expect(result.stdout).toContain(`Usage: eddy ${command}`)
  })

  it.each(['ingest', 'process'])('refuses to run %s as its own process on the embedded log, saying why', (command) => {
    const result = run([command])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('needs KAFKA_BROKERS: the embedded log belongs to the one process that runs `eddy start`')
  })

  it('refuses a separate api on the embedded ClickHouse, saying why', () => {
    const result = run(['api'])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('needs CLICKHOUSE_URL')
  })

  it('names every configuration problem and exits 1', () => {
    const result = run(['migrate'], { PORT: 'eighty', LOG_LEVEL: 'loud' })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('PORT="eighty" is not a whole number')
    expect(result.stderr).toContain('/logLevel')
  })

  it('rejects an unknown command and unknown options', () => {
    expect(run(['launch']).status).toBe(1)
    const result = run(['demo', '--speed', 'fast'])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain("Unknown option '--speed'")
  })

  it('migrates an empty data dir', () => {
    const result = run(['migrate'])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('ClickHouse schema up to date; topics: eddy.clicks')
  })
})
