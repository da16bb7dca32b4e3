import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { build } from 'esbuild'
import type { FastifyInstance } from 'fastify'

const WEB = join(import.meta.dirname, 'web')

interface Asset {
  readonly body: Buffer
  readonly type: string
}

let bundle: Promise<Asset> | undefined

/**
 * The dashboard's script, bundled with uPlot on first request and kept in memory: no build step,
 * no committed output, nothing from a CDN. Tens of milliseconds, once per process.
 */
function dashboardScript(): Promise<Asset> {
  bundle ??= build({
    entryPoints: [join(WEB, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: ['chrome91', 'firefox90', 'safari15'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  }).then((result) => ({ body: Buffer.from(result.outputFiles[0]!.contents), type: 'text/javascript; charset=utf-8' }))
  bundle.catch(() => (bundle = undefined))
  return bundle
}

function file(path: string, type: string): Asset {
  return { body: readFileSync(path), type }
}

/**
 * The built-in live dashboard at `/`: a static page whose script talks to /api/v1/live and the
 * REST api with the read key the user gives it (`#key=` in the URL, or the form). It holds no
 * secret itself, so it is served without authentication.
 */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const require = createRequire(import.meta.url)
  const assets: Record<string, () => Asset | Promise<Asset>> = {
    '/': () => file(join(WEB, 'index.html'), 'text/html; charset=utf-8'),
    '/dashboard/app.js': dashboardScript,
    '/dashboard/app.css': () => file(join(WEB, 'app.css'), 'text/css; charset=utf-8'),
    '/dashboard/uPlot.min.css': () => file(require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'),
  }
  for (const [url, load] of Object.entries(assets)) {
    let cached: Asset | undefined
    app.get(url, { schema: { hide: true } }, async (_request, reply) => {
      cached ??= await load()
      return reply
        .type(cached.type)
        .header('cache-control', 'no-cache')
        // The page talks only to its own origin; no inline script, no third party.
        .header('content-security-policy', "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
        .header('referrer-policy', 'no-referrer')
        .send(cached.body)
    })
  }
}
