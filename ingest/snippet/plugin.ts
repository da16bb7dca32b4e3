import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { IngestDependencies } from '../dependencies.ts'
import { allowCrossOrigin, collectRoute, segmentHandlers } from '../routes/segment.ts'
import { buildSnippet, type BuiltSnippet } from './build.ts'

export const DEFAULT_SCRIPT_PATH = '/eddy.js'
export const DEFAULT_COLLECT_PATH = '/v1/batch'

/**
 * Where the snippet is served and where it posts (config.ingest; EDDY_SNIPPET_PATH,
 * EDDY_COLLECT_PATH). Ad blockers match well-known names, so a site can serve both under its
 * own (`/js/site.js`, `/e`), e.g. from its own domain through its reverse proxy.
 */
export interface SnippetSettings {
  readonly scriptPath?: string
  readonly collectPath?: string
}

export type SnippetPluginOptions = IngestDependencies & SnippetSettings

/**
 * Serves the browser SDK: the script-tag build at `scriptPath` (default /eddy.js), the ESM build
 * beside it (.mjs), and, when `collectPath` is not /v1/batch, that path as an alias of
 * /v1/batch. Register it inside ingest's scope (it relies on ingest's body parsers).
 */
export async function snippetPlugin(app: FastifyInstance, options: SnippetPluginOptions): Promise<void> {
  const { scriptPath, modulePath, collectPath } = snippetPaths(options)
  for (const path of [scriptPath, collectPath]) {
    if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(path)) throw new Error(`snippet path ${JSON.stringify(path)} must be an absolute URL path`)
  }
  const [script, module] = await Promise.all([cachedBuild('iife', collectPath), cachedBuild('esm', collectPath)])
  app.get(scriptPath, async (request, reply) => serve(request, reply, script))
  app.get(modulePath, async (request, reply) => serve(request, reply, module))
  if (collectPath !== DEFAULT_COLLECT_PATH) {
    allowCrossOrigin(app)
    collectRoute(app, collectPath, segmentHandlers(options).batch)
  }
}

/** The paths the snippet plugin serves: the script, the ESM build beside it, and where the script posts. */
export function snippetPaths(options: Pick<IngestDependencies, 'config'> & SnippetSettings): { scriptPath: string; modulePath: string; collectPath: string } {
  const settings = options.config.ingest as typeof options.config.ingest & SnippetSettings
  const scriptPath = options.scriptPath ?? settings.scriptPath ?? DEFAULT_SCRIPT_PATH
  const collectPath = options.collectPath ?? settings.collectPath ?? DEFAULT_COLLECT_PATH
  return { scriptPath, modulePath: `${scriptPath.replace(/\.m?js$/, '')}.mjs`, collectPath }
}

/** Builds once per process and collect path (tests start many apps; a build takes ~20 ms). */
const builds = new Map<string, Promise<BuiltSnippet>>()
function cachedBuild(format: 'iife' | 'esm', collectPath: string): Promise<BuiltSnippet> {
  const key = `${format} ${collectPath}`
  let built = builds.get(key)
  if (!built) builds.set(key, (built = buildSnippet({ format, collectPath })))
  return built
}

/**
 * The script URL carries no version, so caches revalidate hourly (a deploy reaches every page
 * within the hour) and meanwhile serve the old copy; the ETag makes a revalidation a 304.
 */
function serve(request: FastifyRequest, reply: FastifyReply, built: BuiltSnippet): FastifyReply {
  void reply.headers({
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'public, max-age=3600, stale-while-revalidate=86400',
    etag: built.etag,
    vary: 'accept-encoding',
    // Module scripts from another origin need CORS; pages with COEP need CORP.
    'access-control-allow-origin': '*',
    'cross-origin-resource-policy': 'cross-origin',
  })
  const ifNoneMatch = request.headers['if-none-match']
  if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === built.etag)) return reply.code(304).send()
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(built.gzip)
  return reply.send(built.code)
}
