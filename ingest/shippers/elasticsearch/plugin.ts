import type { FastifyInstance, FastifyReply } from 'fastify'
import { v5 as uuidv5 } from 'uuid'
import type { IngestDependencies } from '../../dependencies.ts'
import { normaliseShipped } from '../accept.ts'
import { authenticateShipper } from '../write-key.ts'
import { bulkItemToLine, parseBulk } from './bulk.ts'

/** Elasticsearch outputs point at `http://eddy:8080/es` (a path prefix, so nothing collides with Eddy's own routes). */
export const ELASTICSEARCH_PREFIX = '/es'

/**
 * The version Eddy reports. Filebeat, Logstash and Vector read the major version to choose the
 * bulk format (8: no `_type`); Beats 8 refuse a cluster older than themselves unless
 * `allow_older_versions` (the default since 8.9), so this is a recent 8.x.
 */
export const REPORTED_VERSION = '8.17.0'

/** Setup calls answered as done (GET `{}`, PUT and POST `{"acknowledged": true}`), under the prefix. */
export const SETUP_PATHS = ['_index_template/:name', '_template/:name', '_ilm/policy/:name', '_data_stream/:name', '_component_template/:name', '_ingest/pipeline/:name'] as const

export const INFO = {
  name: 'eddy',
  cluster_name: 'eddy',
  cluster_uuid: uuidv5('eddy-elasticsearch-compat', '6ba7b811-9dad-11d1-80b4-00c04fd430c8'),
  version: {
    number: REPORTED_VERSION,
    build_flavor: 'default',
    build_type: 'docker',
    lucene_version: '9.12.0',
    minimum_wire_compatibility_version: '7.17.0',
    minimum_index_compatibility_version: '7.0.0',
  },
  tagline: 'You Know, for Search',
}

/**
 * An Elasticsearch `_bulk` subset and the handshake calls its outputs make (`GET /`, `_license`,
 * `_cluster/health`, template and ILM probes answered as if done), so Fluent Bit `es`, Vector
 * `elasticsearch`, Filebeat and Logstash ship to Eddy unchanged. The answer is Elasticsearch's:
 * 200 with one item per action, `errors: true` and a 400 item for each document that could not be
 * stored (shippers do not retry 400 items); 503 for the whole request when the log cannot ack.
 */
export async function elasticsearchRoutes(app: FastifyInstance, dependencies: IngestDependencies): Promise<void> {
  const { config, publisher } = dependencies
  // _bulk bodies are NDJSON under whatever type the client names (application/json,
  // application/x-ndjson, application/vnd.elasticsearch+x-ndjson; compatible-with=8): read them raw.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))
  // Elastic's clients (Beats, Logstash 8, elasticsearch-js) refuse a server without this header.
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.header('x-elastic-product', 'Elasticsearch')
    return payload
  })

  const info = async (_request: unknown, reply: FastifyReply) => reply.send(INFO)
  app.get(`${ELASTICSEARCH_PREFIX}`, info)
  app.get(`${ELASTICSEARCH_PREFIX}/`, info)
  app.get(`${ELASTICSEARCH_PREFIX}/_license`, async () => ({
    license: { status: 'active', uid: INFO.cluster_uuid, type: 'basic', issue_date_in_millis: 0, max_nodes: 1000, issued_to: 'eddy', issuer: 'elasticsearch', start_date_in_millis: -1 },
  }))
  app.get(`${ELASTICSEARCH_PREFIX}/_cluster/health`, async () => ({ cluster_name: INFO.cluster_name, status: 'green', timed_out: false, number_of_nodes: 1, number_of_data_nodes: 1 }))
  app.get(`${ELASTICSEARCH_PREFIX}/_xpack`, async () => ({ features: { ilm: { available: true, enabled: true } } }))
  // Setup calls (index templates, ILM policies, data streams): answered as done, because Eddy's
  // schema is fixed and nothing there needs creating.
  for (const path of SETUP_PATHS) {
    app.route({ method: ['GET', 'PUT', 'POST'], url: `${ELASTICSEARCH_PREFIX}/${path}`, handler: async (request) => (request.method === 'GET' ? {} : { acknowledged: true }) })
  }

  const bulk = async (request: { params: unknown; body: unknown }, reply: FastifyReply, projectId: string) => {
    const started = dependencies.clock()
    const urlIndex = (request.params as { index?: string }).index
    const items = parseBulk(typeof request.body === 'string' ? request.body : '', urlIndex, config.ingest.maxNestingDepth)
    const lines = items.map((item, position) => bulkItemToLine(item, position))
    const batch = normaliseShipped(lines, { projectId, receivedAt: started, bounds: dependencies.timeBounds }, config.ingest.maxEventBytes)
    await publisher.publish('log', batch.events)
    if (batch.events.length < lines.length) dependencies.refusedLines?.(lines.length - batch.events.length)
    const answers = items.map((item, position) => {
      const outcome = batch.outcomes[position]!
      const head = { _index: item.index, _id: item.id ?? outcome.event?.event_id ?? null }
      if (outcome.event) {
        return { [item.action]: { ...head, _version: 1, result: 'created', status: 201, _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: 0, _primary_term: 1 } }
      }
      const reason = (outcome.errors ?? []).map((error) => (error.field && error.field !== `/${position}` ? `${error.field.slice(`/${position}`.length)}: ${error.reason}` : error.reason)).join('; ')
      const type = item.action === 'update' || item.action === 'delete' ? 'action_request_validation_exception' : 'document_parsing_exception'
      return { [item.action]: { ...head, status: 400, error: { type, reason } } }
    })
    return reply.code(200).send({ took: Math.max(0, dependencies.clock() - started), errors: batch.rejected.length > 0, items: answers })
  }
  for (const url of [`${ELASTICSEARCH_PREFIX}/_bulk`, `${ELASTICSEARCH_PREFIX}/:index/_bulk`]) {
    app.route({
      method: ['POST', 'PUT'],
      url,
      handler: async (request, reply) => bulk(request, reply, authenticateShipper(request, dependencies.keys)),
    })
  }
}
