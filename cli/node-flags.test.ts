import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EDDY_NODE_FLAGS } from './node-flags.ts'

const root = join(import.meta.dirname, '..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')

describe('EDDY_NODE_FLAGS', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts
  const launchers: Record<string, string> = {
    'the eddy shebang': read('bin/eddy.js').split('\n')[0]!,
    'npm start': scripts.start!,
    'npm run demo': scripts.demo!,
    'npm run bench (the in-process stages run Eddy as eddy runs it)': scripts.bench!,
    'the container image': read('Dockerfile').split('\n').find((line) => line.startsWith('ENTRYPOINT'))!,
  }

  it.each(Object.entries(launchers))('are on the command line of %s', (_name, line) => {
    for (const flag of EDDY_NODE_FLAGS) expect(line).toContain(flag)
  })

  it('are on the command line of the test workers, where the pipeline suites run Eddy in-process', () => {
    expect(process.execArgv).toEqual(expect.arrayContaining([...EDDY_NODE_FLAGS]))
  })

  it('survive the shebang: env -S splits them off as node arguments', () => {
    const shebang = read('bin/eddy.js').split('\n')[0]!
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true)
    const command = shebang.slice('#!/usr/bin/env -S '.length)
    // execArgv ends with -p and its script.
    const execArgv = execFileSync('/usr/bin/env', ['-S', `${command} -p "process.execArgv.slice(0, -2).join(' ')"`], { encoding: 'utf8' }).trim()
    expect(execArgv).toBe(EDDY_NODE_FLAGS.join(' '))
  })
})
