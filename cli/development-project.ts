import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { DevelopmentDefaults, Project } from '../core/config/index.ts'

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

/**
 * The operator key of a development deployment, kept beside its project so `eddy start` can print
 * one that sees the whole pipeline's health.
 */
export function developmentOperatorKey(dataDir: string): string {
  const file = join(resolve(dataDir), 'development-operator-key')
  try {
    const key = readFileSync(file, 'utf8').trim()
    if (key) return key
  } catch {
    // Not made yet: made below.
  }
  const key = `ok_${randomBytes(16).toString('hex')}`
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${key}\n`, { mode: 0o600 })
  return key
}

export function developmentDefaults(dataDir: string): DevelopmentDefaults {
  return { project: () => developmentProject(dataDir), operatorKey: () => developmentOperatorKey(dataDir) }
}
