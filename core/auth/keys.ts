import type { Project } from '../config/index.ts'

export type KeyRole = 'write' | 'read'

/**
 * Maps API keys to their project. The project is always taken from the key, never from a request
 * parameter, which is what keeps one tenant out of another's data.
 */
export class KeyRing {
  private readonly keys = new Map<string, { projectId: string; role: KeyRole }>()
  private readonly operators: ReadonlySet<string>

  /** Operator keys belong to no project: they see what is shared by all (the pipeline's health). */
  constructor(projects: readonly Project[], operatorKeys: readonly string[] = []) {
    for (const project of projects) {
      for (const key of project.writeKeys) this.keys.set(key, { projectId: project.id, role: 'write' })
      for (const key of project.readKeys) this.keys.set(key, { projectId: project.id, role: 'read' })
    }
    this.operators = new Set(operatorKeys)
  }

  isOperator(key: string | undefined): boolean {
    return key !== undefined && this.operators.has(key)
  }

  /** The project a key of that role belongs to, or undefined. */
  projectFor(key: string | undefined, role: KeyRole): string | undefined {
    if (!key) return undefined
    const entry = this.keys.get(key)
    // A hash lookup, not a character-by-character compare, so timing reveals no key prefix.
    if (!entry || entry.role !== role) return undefined
    return entry.projectId
  }
}

/** The write key from HTTP Basic auth (key as user name, as Segment's libraries send it). */
export function basicAuthUser(header: string | undefined): string | undefined {
  if (!header || !/^basic /i.test(header)) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const separator = decoded.indexOf(':')
  return separator === -1 ? decoded : decoded.slice(0, separator)
}

/** The key from `Authorization: Bearer <key>`. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header || !/^bearer /i.test(header)) return undefined
  return header.slice(7).trim() || undefined
}
