import { createHash } from 'node:crypto'
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ReadPosition, ReindexRange } from './raw-events.ts'

/** One reindex run's identity: the same command again (same range, stream, projects, target) resumes it. */
export interface ReindexTarget extends ReindexRange {
  readonly indexPrefix: string
}

/** Where an interrupted reindex stopped: every event up to and including `after` is indexed. */
export interface ResumePoint {
  readonly after: ReadPosition
  readonly indexed: number
  readonly rejected: number
}

export interface RejectedDocument {
  readonly eventId: string
  readonly projectId: string
  readonly ts: number
  readonly reason: string
}

/**
 * A reindex's records in the data dir (`<dataDir>/reindex/`): the resume point of a run that has
 * not finished, removed once it has, and the documents Elasticsearch refused, kept as the report.
 * The resume point is written to a temporary file and renamed over the old one, so a kill in the
 * middle of a write leaves the previous point, never half a file.
 */
export class ReindexProgressFile {
  readonly path: string
  readonly rejectedPath: string

  constructor(directory: string, private readonly target: ReindexTarget) {
    mkdirSync(directory, { recursive: true })
    const name = `${target.stream}-${new Date(target.fromMs).toISOString().slice(0, 10)}-${targetHash(target)}`
    this.path = join(directory, `${name}.json`)
    this.rejectedPath = join(directory, `${name}.rejected.ndjson`)
  }

  /** Undefined when no run of this target was interrupted. */
  load(): ResumePoint | undefined {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
    const saved = JSON.parse(text) as { target?: unknown; resume?: ResumePoint }
    // The name is a hash: make sure it is this target's file, not a collision.
    if (JSON.stringify(saved.target) !== JSON.stringify(canonical(this.target)) || !saved.resume) return undefined
    return saved.resume
  }

  save(resume: ResumePoint): void {
    const staged = `${this.path}.tmp`
    writeFileSync(staged, `${JSON.stringify({ target: canonical(this.target), resume }, null, 2)}\n`)
    renameSync(staged, this.path)
  }

  /** The run is complete: the next run of the same command starts from the beginning. */
  finish(): void {
    rmSync(this.path, { force: true })
  }

  /** A fresh run (not a resume) starts a fresh report. */
  clearRejected(): void {
    rmSync(this.rejectedPath, { force: true })
  }

  recordRejected(documents: readonly RejectedDocument[]): void {
    if (documents.length === 0) return
    appendFileSync(this.rejectedPath, documents.map((document) => `${JSON.stringify(document)}\n`).join(''))
  }
}

function canonical(target: ReindexTarget) {
  return { stream: target.stream, fromMs: target.fromMs, toMs: target.toMs, projectIds: [...target.projectIds].sort(), indexPrefix: target.indexPrefix }
}

function targetHash(target: ReindexTarget): string {
  return createHash('sha256').update(JSON.stringify(canonical(target))).digest('hex').slice(0, 16)
}
