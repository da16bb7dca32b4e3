import type { ReprocessProgress, ReprocessSummary } from '../../processors/reprocess/reprocess.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'

export interface RemoteReprocessOptions {
  /** The running process's base URL, e.g. http://127.0.0.1:8080. */
  readonly baseUrl: string
  readonly operatorKey: string
  readonly request: { readonly fromMs: number; readonly toMs: number; readonly stream?: Stream; readonly writeKey?: string }
  readonly onProgress?: (progress: ReprocessProgress) => void
  readonly pollMs?: number
}

interface RunAnswer {
  readonly id: string
  readonly state: 'running' | 'finished' | 'failed'
  readonly progress?: ReprocessProgress
  readonly summary?: ReprocessSummary
  readonly error?: string
}

/**
 * Runs a reprocess inside the process that holds the embedded log and chDB (`eddy start`),
 * through its operator endpoint, and follows it until it ends. The run belongs to that process:
 * stopping this command leaves it running there.
 */
export async function reprocessOverHttp(options: RemoteReprocessOptions): Promise<ReprocessSummary> {
  const headers = { authorization: `Bearer ${options.operatorKey}`, 'content-type': 'application/json' }
  const started = await fetch(`${options.baseUrl}/api/v1/pipeline/reprocess`, { method: 'POST', headers, body: JSON.stringify(options.request) })
  if (started.status !== 202) throw new Error(`${options.baseUrl} refused the reprocess (${started.status}): ${await problemDetail(started)}`)
  const { id } = (await started.json()) as RunAnswer
  for (;;) {
    const answer = await fetch(`${options.baseUrl}/api/v1/pipeline/reprocess/${encodeURIComponent(id)}`, { headers })
    if (answer.status !== 200) throw new Error(`${options.baseUrl} lost reprocess ${id} (${answer.status}): ${await problemDetail(answer)}`)
    const run = (await answer.json()) as RunAnswer
    if (run.progress) options.onProgress?.(run.progress)
    if (run.state === 'finished') return run.summary!
    if (run.state === 'failed') throw new Error(`reprocess ${id} failed in the running process: ${run.error}`)
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500))
  }
}

async function problemDetail(response: Response): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as { detail?: string; title?: string }
  return body.detail ?? body.title ?? response.statusText
}
