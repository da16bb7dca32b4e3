import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { bearerToken, type KeyRing } from '../../core/auth/keys.ts'
import type { PipelineStatus, ProjectHealth } from '../../core/pipeline-status.ts'
import { authenticateReadKey } from '../auth.ts'

export interface PipelineHealthRouteOptions {
  readonly keys: KeyRing
  readonly status: () => Promise<PipelineStatus>
  /** A project's own figures; where absent, a read key learns only that its project exists. */
  readonly projectHealth?: (projectId: string) => Promise<ProjectHealth>
}

const IngestRate = Type.Object({
  eventsPerSecond: Type.Number({ description: 'Events accepted per second over the last 10 s, all streams.' }),
  click: Type.Number(),
  log: Type.Number(),
  notification: Type.Number(),
}, { description: 'This project\'s accepted events per second over the last 10 s, by stream.' })

const PipelineView = Type.Object({
  scope: Type.Literal('pipeline'),
  lag: Type.Integer({ description: 'Records not yet processed, all consumer groups.' }),
  ingestEventsPerSecond: Type.Optional(Type.Number({ description: 'Events accepted per second over the last 10 s, all projects.' })),
  deadLetters: Type.Integer({ description: 'Records held in the dead-letter topic.' }),
  lateEvents: Type.Integer({ description: 'Events held in the late topic (beyond the allowed lateness).' }),
  sink: Type.Optional(Type.Object({ inserts: Type.Integer(), failures: Type.Integer(), p50Ms: Type.Optional(Type.Number()), p99Ms: Type.Optional(Type.Number()) }, { description: 'ClickHouse inserts of the processors in this process; latency over the recent ones.' })),
  convergence: Type.Optional(Type.Object({
    pending: Type.Array(Type.Object({ stream: Type.String(), fromMs: Type.Number(), toMs: Type.Number(), lateRecords: Type.Integer() })),
    running: Type.Optional(Type.Object({ stream: Type.String(), fromMs: Type.Number(), toMs: Type.Number(), lateRecords: Type.Integer() })),
    runs: Type.Integer(),
    failures: Type.Integer(),
    lastRun: Type.Optional(Type.Object({
      stream: Type.String(), fromMs: Type.Number(), toMs: Type.Number(), lateRecords: Type.Integer(), finishedAtMs: Type.Number(), durationMs: Type.Number(),
      rows: Type.Optional(Type.Integer()), error: Type.Optional(Type.String()),
    })),
  }, { description: 'Automatic convergence in this process: windows late events reached, waiting to be recomputed from the raw tables (ms times of the range), the one running, and the last run.' })),
  consumers: Type.Array(Type.Any(), { description: 'Lag per consumer group, topic and partition.' }),
  halted: Type.Array(Type.Object({ job: Type.String(), partition: Type.Integer(), reason: Type.String() }), { description: 'Partitions stopped because their state store is damaged (eddy_partitions_halted): not processed or committed until the store is restored or moved away, as the reason says.' }),
  jobs: Type.Array(Type.Any(), { description: 'Per job and partition: the next offset to process (position; the committed offset moves only at checkpoints), watermark, window state, late and duplicate counts, event ids remembered for deduplication.' }),
}, { title: 'PipelineHealth', description: 'An operator key: the whole pipeline, every project\'s traffic.' })

const ProjectView = Type.Object({
  scope: Type.Literal('project'),
  project: Type.String(),
  ingest: Type.Optional(IngestRate),
}, { title: 'ProjectHealth', description: 'A read key: only its project\'s own traffic. The topics are shared by every project, so their offsets and lag are the operator\'s to see.' })

/** Either view, told apart by `scope`. */
export const PipelineHealthAnswer = Type.Union([PipelineView, ProjectView])

/**
 * The pipeline's own health. Topics, consumer groups and job partitions are shared by every
 * project, so their figures show every tenant's volume: they answer an operator key only, and a
 * project's read key gets its own traffic (docs/api.md, Pipeline).
 */
export async function pipelineHealthRoute(app: FastifyInstance, options: PipelineHealthRouteOptions): Promise<void> {
  app.get('/api/v1/pipeline/health', {
    schema: { response: { 200: PipelineHealthAnswer } },
  }, async (request) => {
    if (options.keys.isOperator(bearerToken(request.headers.authorization))) {
      const { consumers, jobs, ...totals } = await options.status()
      return { scope: 'pipeline' as const, lag: consumers.reduce((sum, consumer) => sum + consumer.lag, 0), ...totals, consumers, jobs }
    }
    const projectId = authenticateReadKey(request, options.keys)
    return { scope: 'project' as const, ...(options.projectHealth ? await options.projectHealth(projectId) : { project: projectId }) }
  })
}
