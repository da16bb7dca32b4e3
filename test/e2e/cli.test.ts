import { spawnSync } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { temporaryDirectory } from '../support/temp-dir.ts'

const EDDY = join(import.meta.dirname, '../../bin/eddy.js')
const COMMANDS = ['start', 'ingest', 'process', 'api', 'migrate', 'demo', 'import', 'export', 'reprocess', 'reindex']

/** Runs bin/eddy in a data dir of its own; `args` may be made from the dir (to write input files there), `inspect` looks at it after. */
const run = (args: string[] | ((dataDir: string) => string[]), env: Record<string, string> = {}, inspect?: (dataDir: string) => void) => {
  const directory = temporaryDirectory('cli')
  try {
    const argv = typeof args === 'function' ? args(directory.path) : args
    const result = spawnSync(process.execPath, [EDDY, ...argv], { env: { PATH: process.env.PATH, EDDY_DATA_DIR: directory.path, LOG_LEVEL: 'silent', ...env }, encoding: 'utf8', timeout: 30_000 })
    inspect?.(directory.path)
    return { status: result.status, stdout: result.stdout, stderr: result.stderr }
  } finally {
    directory.remove()
  }
}

/** A Segment page call, timed now (within retention). */
const page = (id: string) => JSON.stringify({ type: 'page', messageId: id, anonymousId: 'a1', timestamp: new Date().toISOString(), context: { page: { url: 'https://shop.example/' } } })
/** Three lines, the second not JSON. */
const fileWithBadLine = (dataDir: string) => {
  const path = join(dataDir, 'calls.ndjson')
  writeFileSync(path, `${page('m1')}\n{"type":"page",\n${page('m3')}\n`)
  return path
}

describe('eddy CLI', () => {
  it('lists the commands', () => {
    const result = run(['--help'])
    expect(result.status).toBe(0)
    for (const command of COMMANDS) expect(result.stdout).toContain(`  ${command} `)
  })

  it.each(COMMANDS)('has --help for %s', (command) => {
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

  it('imports a file with a bad line: exit 2, the line by file and number on stderr, the rest accepted', () => {
    let file = ''
    const result = run((dataDir) => ['import', (file = fileWithBadLine(dataDir))])
    expect(result.stderr).toContain(`${file}:2: is not valid JSON`)
    expect(result.stdout).toContain('3 lines, 2 accepted, 1 refused')
    expect(result.status).toBe(2)
  })

  it('validates only with --dry-run: exit 0 for a clean file, and nothing is stored', () => {
    const result = run((dataDir) => {
      const path = join(dataDir, 'clean.ndjson')
      writeFileSync(path, `${page('d1')}\n${page('d2')}\n`)
      return ['import', '--dry-run', path]
    }, {}, (dataDir) => {
      // No log, no ClickHouse: nothing was opened to store into (only the file and the development project).
      expect(readdirSync(dataDir).filter((name) => name === 'log' || name === 'clickhouse')).toEqual([])
    })
    expect(result.stdout).toContain('dry run, nothing was sent: 2 lines, 2 valid, 0 refused')
    expect(result.stderr).not.toContain('refused:')
    expect(result.status).toBe(0)
  })

  it('refuses eddy import without a file, saying so', () => {
    const result = run(['import'])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('name at least one FILE (or - for stdin)')
  })

  it('documents eddy export\'s options and exit code', () => {
    const result = run(['export', '--help'])
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('Usage: eddy export --stream click|log|notification --from T --to T')
    expect(result.stdout).toContain('--output')
  })

  it('refuses eddy reindex without ELASTICSEARCH_URL, saying what it needs', () => {
    const result = run(['reindex', '--from', '2026-11-01', '--to', '2026-11-02'])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('eddy reindex needs ELASTICSEARCH_URL')
  })
})
