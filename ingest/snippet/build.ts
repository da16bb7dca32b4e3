import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const SOURCE = join(import.meta.dirname, 'src')

export interface SnippetBuildOptions {
  /** iife: the script-tag build (eddy.js); esm: the npm-style module exporting createEddy. */
  readonly format: 'iife' | 'esm'
  /** The collect path compiled into the script-tag build as its default (default /v1/batch). */
  readonly collectPath?: string
  readonly minify?: boolean
}

export interface BuiltSnippet {
  readonly code: Buffer
  readonly gzip: Buffer
  /** A strong ETag of the code. */
  readonly etag: string
}

/**
 * Bundles the browser SDK with esbuild. Ingest runs this once at start-up (tens of milliseconds)
 * and serves the result from memory, so there is no build step and no committed output to go
 * stale; see docs/snippet.md.
 */
export async function buildSnippet(options: SnippetBuildOptions): Promise<BuiltSnippet> {
  const result = await build({
    entryPoints: [join(SOURCE, options.format === 'iife' ? 'script.ts' : 'index.ts')],
    bundle: true,
    write: false,
    format: options.format,
    // Browsers since 2021: ?. and ?? are native there (esbuild lowers ?. for Chrome 90, a V8 bug).
    target: ['chrome91', 'firefox90', 'safari15', 'edge91'],
    minify: options.minify ?? true,
    legalComments: 'none',
    define: { EDDY_COLLECT_PATH: JSON.stringify(options.collectPath ?? '/v1/batch') },
    logLevel: 'silent',
  })
  const code = Buffer.from(result.outputFiles[0]!.contents)
  return { code, gzip: gzipSync(code, { level: 9 }), etag: `"${createHash('sha256').update(code).digest('base64url').slice(0, 22)}"` }
}

/** `tsx ingest/snippet/build.ts <dir>` writes eddy.js and eddy.mjs, e.g. to publish to npm or a CDN. */
if (process.argv[1] === import.meta.filename) {
  const directory = process.argv[2] ?? 'dist/snippet'
  mkdirSync(directory, { recursive: true })
  for (const [format, file] of [['iife', 'eddy.js'], ['esm', 'eddy.mjs']] as const) {
    const built = await buildSnippet({ format })
    writeFileSync(join(directory, file), built.code)
    console.log(`${file}: ${built.code.length} bytes, ${built.gzip.length} bytes gzipped`)
  }
}
