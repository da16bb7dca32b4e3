import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { KeyRing } from '../../core/auth/keys.ts'
import { OperatorRuns } from '../../processors/reprocess/operator-runs.ts'
import type { ReprocessProgress, ReprocessRequest, ReprocessSummary } from '../../processors/reprocess/reprocess.ts'
import { API_FRAMEWORK_PROBLEMS } from '../errors.ts'
import { installProblemHandler } from '../../core/http/error-handler.ts'
import { pipelineReprocessRoute } from './pipeline-reprocess.ts'

const OPERATOR = 'operator-key'
const keys = new KeyRing([{ id: 'alpha', writeKeys: ['write-a'], readKeys: ['read-a'] } as never], [OPERATOR])

/** Runs that end when the test says so, reporting the progress it gives. */
function controlledRuns() {
  const asked: ReprocessRequest[] = []
  let finish!: (summary: ReprocessSummary) => void
  let fail!: (error: Error) => void
  let report!: (progress: ReprocessProgress) => void
  let aborted: AbortSignal | undefined
  const runs = new OperatorRuns({
    clock: () => 1_000,
    run: (request, onProgress, signal) => {
      asked.push(request)
      report = onProgress
      aborted = signal
      return new Promise<ReprocessSummary>((resolve, reject) => {
        finish = resolve
        fail = reject
        signal.addEventListener('abort', () => reject(signal.reason as Error))
      })
    },
  })
  return { runs, asked, finish: (s: ReprocessSummary) => finish(s), fail: (e: Error) => fail(e), report: (p: ReprocessProgress) => report(p), signal: () => aborted }
}

async function appWith(runs: OperatorRuns) {
  const app = Fastify()
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS, { notFound: false })
  await app.register(pipelineReprocessRoute, { keys, runs })
  return app
}

const post = (app: Awaited<ReturnType<typeof appWith>>, body: unknown, key = OPERATOR) =>
  app.inject({ method: 'POST', url: '/api/v1/pipeline/reprocess', headers: { authorization: `Bearer ${key}` }, payload: body as object })
const get = (app: Awaited<ReturnType<typeof appWith>>, id: string, key = OPERATOR) =>
  app.inject({ method: 'GET', url: `/api/v1/pipeline/reprocess/${id}`, headers: { authorization: `Bearer ${key}` } })

describe('the operator reprocess endpoint', () => {
  it('starts a run, reports its progress, then its summary; one at a time', async () => {
    const control = controlledRuns()
    const app = await appWith(control.runs)
    const started = await post(app, { fromMs: 0, toMs: 3_600_000, stream: 'click', writeKey: 'write-a' })
    expect(started.statusCode).toBe(202)
    const { id } = started.json() as { id: string }
    expect(started.headers.location).toBe(`/api/v1/pipeline/reprocess/${id}`)
    // The project comes from the write key.
    expect(control.asked).toEqual([{ fromMs: 0, toMs: 3_600_000, stream: 'click', projectId: 'alpha' }])

    const second = await post(app, { fromMs: 0, toMs: 60_000 })
    expect(second.statusCode).toBe(409)
    expect(second.json()).toMatchObject({ code: 'API_REPROCESS_RUNNING' })

    const progress = { stream: 'click', slices: 1, slicesTotal: 2, events: 10, eventsTotal: 20, elapsedMs: 5, rows: 3, tombstones: 0, stillOpen: 0, incomplete: 0, notCounted: 0, emptySlices: 0 } as const
    control.report(progress)
    expect((await get(app, id)).json()).toMatchObject({ id, state: 'running', progress })

    const summary = { generation: 7, resumed: false, streams: { click: { ...progress, slices: 2 } } }
    control.finish(summary)
    await new Promise((resolve) => setImmediate(resolve))
    expect((await get(app, id)).json()).toMatchObject({ state: 'finished', summary: { generation: 7 } })
    expect((await post(app, { fromMs: 0, toMs: 60_000 })).statusCode).toBe(202)
  })

  it('reports a failed run with its reason, and stop() aborts the one running', async () => {
    const control = controlledRuns()
    const app = await appWith(control.runs)
    const { id } = (await post(app, { fromMs: 0, toMs: 60_000 })).json() as { id: string }
    control.fail(new RangeError('past the retention'))
    await new Promise((resolve) => setImmediate(resolve))
    expect((await get(app, id)).json()).toMatchObject({ state: 'failed', error: 'past the retention' })

    const next = (await post(app, { fromMs: 0, toMs: 60_000 })).json() as { id: string }
    await control.runs.stop()
    expect(control.signal()?.aborted).toBe(true)
    expect((await get(app, next.id)).json()).toMatchObject({ state: 'failed', error: expect.stringContaining('shutdown') })
  })

  it('takes an operator key only, and names a bad field', async () => {
    const app = await appWith(controlledRuns().runs)
    for (const key of ['read-a', 'write-a', 'unknown']) {
      const refused = await post(app, { fromMs: 0, toMs: 60_000 }, key)
      expect(refused.statusCode).toBe(401)
      expect(refused.headers['content-type']).toContain('application/problem+json')
      expect(refused.json()).toMatchObject({ code: 'API_OPERATOR_KEY_REQUIRED' })
    }
    expect((await get(app, 'x', 'read-a')).statusCode).toBe(401)
    expect((await get(app, 'nope')).json()).toMatchObject({ status: 404, code: 'API_REPROCESS_NOT_FOUND' })

    const backwards = await post(app, { fromMs: 60_000, toMs: 0 })
    expect(backwards.json()).toMatchObject({ status: 400, errors: [{ field: 'body/toMs' }] })
    const unknownKey = await post(app, { fromMs: 0, toMs: 60_000, writeKey: 'nobody' })
    expect(unknownKey.json()).toMatchObject({ status: 400, errors: [{ field: 'body/writeKey' }] })
    const badStream = await post(app, { fromMs: 0, toMs: 60_000, stream: 'metrics' })
    expect(badStream.statusCode).toBe(400)
    expect(badStream.json()).toMatchObject({ code: 'API_INVALID_REQUEST' })
  })
})
