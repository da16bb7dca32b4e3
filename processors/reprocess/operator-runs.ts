import type { ReprocessProgress, ReprocessRequest, ReprocessSummary } from './reprocess.ts'

export type RunState = 'running' | 'finished' | 'failed'

export interface OperatorRun {
  readonly id: string
  readonly request: ReprocessRequest
  readonly state: RunState
  readonly startedAtMs: number
  readonly finishedAtMs?: number
  /** The latest progress of the stream being recomputed. */
  readonly progress?: ReprocessProgress
  readonly summary?: ReprocessSummary
  readonly error?: string
}

export class RunInProgress extends Error {
  constructor(readonly running: OperatorRun) {
    super(`reprocess ${running.id} is still running`)
  }
}

export interface OperatorRunsOptions {
  readonly run: (request: ReprocessRequest, onProgress: (progress: ReprocessProgress) => void, signal: AbortSignal) => Promise<ReprocessSummary>
  readonly clock: () => number
  /** Finished runs kept for their callers to read. */
  readonly keep?: number
}

/**
 * Reprocess runs an operator asked a running process for (`eddy reprocess` while `eddy start`
 * holds the embedded log and chDB). One at a time: two runs over the same windows would only
 * race to write the same rows, and each takes a core the live path needs.
 */
export class OperatorRuns {
  private readonly runs = new Map<string, OperatorRun>()
  private current?: Promise<void>
  private sequence = 0
  private readonly stopping = new AbortController()

  constructor(private readonly options: OperatorRunsOptions) {}

  /** Starts a run, or throws RunInProgress naming the one still running. */
  start(request: ReprocessRequest): OperatorRun {
    if (this.stopping.signal.aborted) throw new Error('the process is shutting down')
    const running = [...this.runs.values()].find((run) => run.state === 'running')
    if (running) throw new RunInProgress(running)
    const id = `${this.options.clock().toString(36)}-${++this.sequence}`
    const begun: OperatorRun = { id, request, state: 'running', startedAtMs: this.options.clock() }
    this.runs.set(id, begun)
    const update = (change: Partial<OperatorRun>): void => {
      this.runs.set(id, { ...this.runs.get(id)!, ...change })
    }
    this.current = this.options.run(request, (progress) => update({ progress }), this.stopping.signal)
      .then((summary) => update({ state: 'finished', summary, finishedAtMs: this.options.clock() }))
      .catch((error: unknown) => update({ state: 'failed', error: error instanceof Error ? error.message : String(error), finishedAtMs: this.options.clock() }))
      .finally(() => this.forgetOld())
    return begun
  }

  get(id: string): OperatorRun | undefined {
    return this.runs.get(id)
  }

  /** Stops the run in progress at its next read; the same request later resumes it from its journal. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('stopped by a shutdown; run the same reprocess again to go on'))
    await this.current
  }

  private forgetOld(): void {
    const finished = [...this.runs.values()].filter((run) => run.state !== 'running')
    for (const run of finished.slice(0, Math.max(0, finished.length - (this.options.keep ?? 20)))) this.runs.delete(run.id)
  }
}
