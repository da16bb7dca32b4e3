import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { KeyRing } from '../../core/auth/keys.ts'
import type { PipelineStatus } from '../../processors/status.ts'
import { authenticateReadKey } from '../auth.ts'

/** The pipeline's own health: how far each consumer group is behind and where the jobs stand. */
export async function pipelineHealthRoute(app: FastifyInstance, options: { keys: KeyRing; status: () => Promise<PipelineStatus> }): Promise<void> {
  app.get('/api/v1/pipeline/health', {
    schema: { response: { 200: Type.Object({ lag: Type.Integer(), consumers: Type.Array(Type.Any()), jobs: Type.Array(Type.Any()) }) } },
  }, async (request) => {
    authenticateReadKey(request, options.keys)
    const status = await options.status()
    return { lag: status.consumers.reduce((sum, consumer) => sum + consumer.lag, 0), consumers: status.consumers, jobs: status.jobs }
  })
}
