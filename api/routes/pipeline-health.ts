import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../../core/auth/keys.ts'
import type { PipelineStatus } from '../../core/pipeline-status.ts'
import { authenticateReadKey } from '../auth.ts'

/** The pipeline's own health: how far each consumer group is behind and where the jobs stand. */
export async function pipelineHealthRoute(app: FastifyInstance, options: { keys: KeyRing; status: () => Promise<PipelineStatus> }): Promise<void> {
  app.get('/api/v1/pipeline/health', {
    schema: {
      response: {
        200: Type.Object({
          lag: Type.Integer({ description: 'Records not yet processed, all consumer groups.' }),
          ingestEventsPerSecond: Type.Optional(Type.Number({ description: 'Events accepted per second over the last 10 s, all projects.' })),
          deadLetters: Type.Integer({ description: 'Records held in the dead-letter topic.' }),
          lateEvents: Type.Integer({ description: 'Events held in the late topic (beyond the allowed lateness).' }),
          sink: Type.Optional(Type.Object({ inserts: Type.Integer(), failures: Type.Integer(), p50Ms: Type.Optional(Type.Number()), p99Ms: Type.Optional(Type.Number()) }, { description: 'ClickHouse inserts of the processors in this process; latency over the recent ones.' })),
          consumers: Type.Array(Type.Any(), { description: 'Lag per consumer group, topic and partition.' }),
          jobs: Type.Array(Type.Any(), { description: 'Per job and partition: the next offset to process (position; the committed offset moves only at checkpoints), watermark, window state, late and duplicate counts, event ids remembered for deduplication.' }),
        }),
      },
    },
  }, async (request) => {
    authenticateReadKey(request, options.keys)
    const status = await options.status()
    const { consumers, jobs, ...totals } = status
    return { lag: consumers.reduce((sum, consumer) => sum + consumer.lag, 0), ...totals, consumers, jobs }
  })
}
