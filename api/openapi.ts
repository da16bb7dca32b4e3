import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { PipelineHealthAnswer } from './routes/pipeline-health.ts'
import { ReprocessBody, ReprocessRunAnswer } from './routes/pipeline-reprocess.ts'
import { PROBLEM_RESPONSE } from './schemas.ts'

/**
 * Health endpoints live in their own plugin scope (every process serves them), out of reach of
 * the route collector registered here, so they are described by hand.
 */
const HEALTH_PATHS = {
  '/healthz': { get: { tags: ['health'], summary: 'The process is alive', responses: { 200: { description: 'alive' } } } },
  '/readyz': { get: { tags: ['health'], summary: 'Ready for traffic: the log accepts writes (and, in a process that does not ingest, ClickHouse answers)', responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } } } },
  '/api/v1/pipeline/health': {
    get: {
      tags: ['health'],
      summary: 'An operator key: consumer lag per group and partition, job watermarks. A read key: its project\'s own accepted events per second',
      security: [{ operatorKey: [] }, { readKey: [] }],
      responses: {
        200: { description: '`scope` says which view: `pipeline` (operator key) or `project` (read key).', content: { 'application/json': { schema: PipelineHealthAnswer } } },
        401: PROBLEM_RESPONSE,
        429: PROBLEM_RESPONSE,
      },
    },
  },
  '/api/v1/pipeline/reprocess': {
    post: {
      tags: ['health'],
      summary: 'An operator key: recompute the aggregates of a range from the raw tables, inside this process (what `eddy reprocess` asks a running `eddy start`); follow it at the Location',
      security: [{ operatorKey: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: ReprocessBody } } },
      responses: {
        202: { description: 'Started.', content: { 'application/json': { schema: ReprocessRunAnswer } } },
        400: PROBLEM_RESPONSE,
        401: PROBLEM_RESPONSE,
        409: PROBLEM_RESPONSE,
        429: PROBLEM_RESPONSE,
      },
    },
  },
  '/api/v1/pipeline/reprocess/{id}': {
    get: {
      tags: ['health'],
      summary: 'An operator key: a reprocess run\'s state, progress and, once finished, summary',
      security: [{ operatorKey: [] }],
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        200: { description: 'The run.', content: { 'application/json': { schema: ReprocessRunAnswer } } },
        401: PROBLEM_RESPONSE,
        404: PROBLEM_RESPONSE,
        429: PROBLEM_RESPONSE,
      },
    },
  },
}

/**
 * OpenAPI 3.1 (JSON Schema 2020-12, which typebox schemas are) generated from the route schemas
 * of this scope: served at /openapi.json, with a browsable UI at /docs. Register before the routes.
 */
export async function registerOpenApi(app: FastifyInstance, options: { docsUi: boolean }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Eddy query API',
        version: '1',
        description: 'Web analytics, logs and notifications from ClickHouse. Errors are application/problem+json (docs/errors.md). The project comes from the read key.',
      },
      components: {
        securitySchemes: {
          readKey: { type: 'http', scheme: 'bearer', description: 'A read key (secret). Write keys cannot read.' },
          operatorKey: { type: 'http', scheme: 'bearer', description: 'An operator key (EDDY_OPERATOR_KEYS): the whole pipeline\'s health, every project\'s volume.' },
        },
      },
      tags: [{ name: 'web' }, { name: 'logs' }, { name: 'notifications' }, { name: 'health' }],
    },
    transformObject: (documentObject) => {
      const document = (documentObject as { openapiObject: { paths?: Record<string, unknown> } }).openapiObject
      return { ...document, paths: { ...HEALTH_PATHS, ...document.paths } } as never
    },
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  if (options.docsUi) await app.register(swaggerUi, { routePrefix: '/docs' })
}
