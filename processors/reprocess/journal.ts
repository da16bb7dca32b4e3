import { createHash } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ReprocessRequest } from './reprocess.ts'

export interface JournalStart {
  /** The run's generation: its revision, kept when a killed run goes on. */
  readonly generation: number
  /** Slices an earlier run of the same request finished. */
  readonly done: ReadonlySet<string>
}

/** What a reprocess has done so far, so that a killed run resumes instead of starting over. */
export interface ReprocessJournal {
  begin(request: ReprocessRequest, nowMs: number): Promise<JournalStart>
  sliceDone(slice: string): Promise<void>
  /** The run is complete: the same request later is a new run (new data may have come). */
  finish(): Promise<void>
}

interface JournalFile {
  readonly request: ReprocessRequest
  readonly generation: number
  readonly done: string[]
}

/** A journal that forgets on exit: tests, and runs too small to resume. */
export function memoryJournal(): ReprocessJournal & { readonly runs: Map<string, JournalFile> } {
  const runs = new Map<string, JournalFile>()
  let current: string | undefined
  return {
    runs,
    async begin(request, nowMs) {
      current = requestId(request)
      const run = runs.get(current) ?? { request, generation: nowMs, done: [] }
      runs.set(current, run)
      return { generation: run.generation, done: new Set(run.done) }
    },
    async sliceDone(slice) {
      runs.get(current!)!.done.push(slice)
    },
    async finish() {
      runs.delete(current!)
    },
  }
}

/**
 * One small JSON file per unfinished request under `directory`, replaced whole (written beside,
 * synced, renamed) after each slice, so a kill leaves either the old or the new one.
 */
export function fileJournal(directory: string): ReprocessJournal {
  let path: string | undefined
  let state: JournalFile | undefined
  const save = async () => {
    const temporary = `${path}.tmp`
    const file = await open(temporary, 'w')
    try {
      await file.writeFile(JSON.stringify(state))
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temporary, path!)
  }
  return {
    async begin(request, nowMs) {
      await mkdir(directory, { recursive: true })
      path = join(directory, `${requestId(request)}.json`)
      const earlier = await readFile(path, 'utf8').then((text) => JSON.parse(text) as JournalFile, (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined
        throw error
      })
      state = earlier ?? { request, generation: nowMs, done: [] }
      if (earlier === undefined) await save()
      return { generation: state.generation, done: new Set(state.done) }
    },
    async sliceDone(slice) {
      state = { ...state!, done: [...state!.done, slice] }
      await save()
    },
    async finish() {
      await rm(path!, { force: true })
    },
  }
}

function requestId(request: ReprocessRequest): string {
  const { fromMs, toMs, stream = '*', projectId = '*' } = request
  return createHash('sha256').update(JSON.stringify([fromMs, toMs, stream, projectId])).digest('hex').slice(0, 24)
}
