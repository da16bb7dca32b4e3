import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Project } from '../core/config/index.ts'

/**
 * When no project is configured, `eddy start` makes one so a newcomer can curl at once. Its keys
 * are kept in the data dir so they survive restarts (and scripts keep working).
 */
export function developmentProject(dataDir: string): Project {
  const file = join(resolve(dataDir), 'development-project.json')
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Project
  } catch {
    const project: Project = {
      id: 'development',
      writeKeys: [`wk_${randomBytes(12).toString('hex')}`],
      readKeys: [`rk_${randomBytes(16).toString('hex')}`],
    }
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, JSON.stringify(project, null, 2), { mode: 0o600 })
    return project
  }
}
