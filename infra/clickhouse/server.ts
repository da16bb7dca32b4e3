/**
 * ClickHouse's HTTP interface in front of chDB, for tests and CI only.
 *
 * There is no ClickHouse server package on the build machines (Debian's is from 2018, there is no
 * Docker), but several Eddy processes sharing one ClickHouse — processors in one consumer group,
 * each killed and restarted — need one, and the `CLICKHOUSE_URL` code path (@clickhouse/client's
 * HTTP transport) deserves a test of its own. This serves the subset of the HTTP protocol that
 * @clickhouse/client speaks — `GET /ping`; `POST /` with the statement in the body or in
 * `?query=` plus data in the body; `param_*` query parameters; settings as URL parameters;
 * `X-ClickHouse-*` response headers; errors as ClickHouse formats them — with the same engine
 * (chDB 26.x) answering. It is not a ClickHouse server: no users, no sessions, no clusters, one
 * database directory, the `database` parameter ignored (Eddy qualifies every table).
 *
 *   node --import tsx infra/clickhouse/server.ts --path <data dir> [--port 0] [--host 127.0.0.1]
 *
 * prints `CLICKHOUSE_URL=http://127.0.0.1:<port>` on stdout once it answers.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { createGunzip } from 'node:zlib'
import { createChdbConnection } from 'chdb/connection'
import { stringLiteral } from '../../core/clickhouse/avro-insert.ts'

/** URL parameters that are part of the protocol; every other one is a setting. */
const PROTOCOL_PARAMETERS = new Set(['query', 'query_id', 'database', 'session_id', 'role', 'user', 'password', 'default_format', 'enable_http_compression', 'session_timeout', 'session_check'])

const { values } = parseArgs({ options: { path: { type: 'string' }, port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } })
if (!values.path) {
  process.stderr.write('usage: server.ts --path <data dir> [--port N] [--host H]\n')
  process.exit(2)
}
const connection = createChdbConnection({ path: values.path })
const stagingDir = mkdtempSync(join(tmpdir(), 'eddy-clickhouse-http-'))
/** `INSERT INTO t FORMAT Avro` (what httpAvroInsert sends): its data is binary. */
const BINARY_INSERT = /\s+FORMAT\s+Avro\s*$/i

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const source = /gzip/i.test(request.headers['content-encoding'] ?? '') ? request.pipe(createGunzip()) : request
  const chunks: Buffer[] = []
  for await (const chunk of source) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function splitParameters(url: URL) {
  const queryParams: Record<string, string> = {}
  const settings: Record<string, string> = {}
  for (const [key, value] of url.searchParams) {
    if (key.startsWith('param_')) queryParams[key.slice('param_'.length)] = value
    else if (!PROTOCOL_PARAMETERS.has(key)) settings[key] = value
  }
  return { queryParams, settings }
}

async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost')
  if (url.pathname === '/ping' || (url.pathname === '/' && request.method === 'GET' && !url.searchParams.has('query'))) {
    response.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n')
    return
  }
  const queryId = url.searchParams.get('query_id') ?? randomUUID()
  const body = await readBody(request)
  const inUrl = url.searchParams.get('query')
  // With `?query=` the body is the statement's data (an INSERT's rows); without it, the statement.
  const statement = inUrl ?? body.toString('utf8')
  const data = inUrl !== null && body.length > 0 ? body : undefined
  const { queryParams, settings } = splitParameters(url)
  // chDB takes an INSERT's inline data as text: a binary body (Avro) goes through a file.
  const binary = data !== undefined && BINARY_INSERT.exec(statement)
  const staged = binary ? join(stagingDir, `${queryId.replace(/[^\w-]/g, '')}.avro`) : undefined
  try {
    if (staged) writeFileSync(staged, data!)
    const result = await connection.exec({
      query: staged ? `${statement.slice(0, (binary as RegExpExecArray).index)} FROM INFILE ${stringLiteral(staged)} FORMAT Avro` : statement,
      query_id: queryId,
      query_params: queryParams,
      clickhouse_settings: settings,
      ...(data && !staged ? { values: Readable.from([data.toString('utf8')]) } : {}),
    } as Parameters<typeof connection.exec>[0])
    const chunks: Buffer[] = []
    for await (const chunk of result.stream) chunks.push(Buffer.from(chunk as Buffer))
    response.writeHead(200, {
      'content-type': 'text/plain; charset=UTF-8',
      'x-clickhouse-query-id': queryId,
      'x-clickhouse-summary': JSON.stringify(result.summary ?? {}),
    })
    response.end(Buffer.concat(chunks))
  } catch (error) {
    const failure = error as Error & { code?: string; type?: string }
    const code = /^\d+$/.test(String(failure.code)) ? String(failure.code) : (/Code: (\d+)/.exec(failure.message)?.[1] ?? '1000')
    const message = failure.message.startsWith('Code:') ? failure.message : `Code: ${code}. DB::Exception: ${failure.message}${failure.type ? ` (${failure.type})` : ''}`
    response.writeHead(500, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-query-id': queryId, 'x-clickhouse-exception-code': code })
    response.end(`${message}\n`)
  } finally {
    if (staged) rmSync(staged, { force: true })
  }
}

// Query parameters travel in the URL: allow what ClickHouse does (http_max_uri_size, 1 MiB), not Node's 16 KiB.
const server = createServer({ maxHeaderSize: 1024 * 1024 }, (request, response) => {
  answer(request, response).catch((error: unknown) => {
    if (!response.headersSent) response.writeHead(500, { 'x-clickhouse-exception-code': '1000' })
    response.end(`Code: 1000. DB::Exception: ${(error as Error).message}\n`)
  })
})
server.keepAliveTimeout = 10_000
server.listen(Number(values.port), values.host, () => {
  const address = server.address() as { port: number }
  process.stdout.write(`CLICKHOUSE_URL=http://${values.host}:${address.port}\n`)
})

const shutdown = () => {
  server.close()
  rmSync(stagingDir, { recursive: true, force: true })
  void connection.close().finally(() => process.exit(0))
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
