/**
 * Real-browser tests: Debian's Chromium driven by playwright-core, against pages served by a
 * small local site that also serves the snippet and a first-party collect path into a running
 * test pipeline. Without Chromium a suite is skipped with the reason, or fails when
 * EDDY_REQUIRE_SERVICES=1 (CI), like the service suites (services.ts).
 */
import { existsSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { chromium, type Browser } from 'playwright-core'
import { describe } from 'vitest'
import { installProblemHandler } from '../../core/http/error-handler.ts'
import { createHttpServer } from '../../core/http/server.ts'
import type { IngestDependencies } from '../../ingest/dependencies.ts'
import { installBodyParsers } from '../../ingest/body.ts'
import { FRAMEWORK_PROBLEMS } from '../../ingest/errors.ts'
import { UserAgentParser } from '../../ingest/normalise/user-agent.ts'
import { EventPublisher } from '../../ingest/publisher.ts'
import { snippetPlugin } from '../../ingest/snippet/plugin.ts'
import type { TestPipeline } from './pipeline.ts'
import { describeUnavailable } from './services.ts'

export const CHROMIUM = '/usr/bin/chromium'

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
}

/** describe() when Chromium is installed; otherwise a skipped suite, or a failing one in CI. */
export function describeWithChromium(title: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(title, body)
    return
  }
  describeUnavailable(title, 'Chromium', `${CHROMIUM} is missing (apt-get install chromium)`)
}

export interface TestSite {
  readonly url: string
  readonly server: FastifyInstance
  /** The snippet's script tag attributes for the pages served from now on. */
  attributes: string
  /** Markup that loads the snippet instead of the script tag (a module script), from now on. */
  snippet: string | undefined
  /** Every batch posted to the site's collect path, beacons included (Playwright does not see those). */
  readonly collected: Collected[]
  stop(): Promise<void>
}

/** A batch the site's collect path answered. */
export interface Collected {
  readonly ids: string[]
  /**
   * Sec-Fetch-Mode: `no-cors` for navigator.sendBeacon (a CORS-safelisted text/plain body), `cors`
   * for the snippet's fetch, keepalive or not. Both send text/plain: the content type cannot tell
   * them apart, the mode can.
   */
  readonly mode: string | undefined
  readonly status: number
}

export const SITE_SCRIPT_PATH = '/js/site.js'
/** The ESM build, which the snippet plugin serves beside the script. */
export const SITE_MODULE_PATH = '/js/site.mjs'
export const SITE_COLLECT_PATH = '/e'

/**
 * A web site on 127.0.0.1 whose every GET (other than the script) is a test page with the
 * snippet. It serves the script first-party under its own name, with its own collect path
 * publishing into the pipeline's bus: what a site behind its own reverse proxy looks like.
 */
export async function startTestSite(eddy: TestPipeline, writeKey: string): Promise<TestSite> {
  const { config } = eddy.runtime
  const bus = await eddy.runtime.bus()
  const dependencies: IngestDependencies = {
    config,
    keys: eddy.runtime.keys,
    publisher: new EventPublisher({ producer: bus.producer(), codec: await eddy.runtime.codec(), topics: config.topics, timeoutMs: config.ingest.produceTimeoutMs, busHealthy: () => bus.healthy() }),
    clock: Date.now,
    timeBounds: { maxFutureMs: config.ingest.maxFutureMs, retentionMs: config.retentionDays * 86_400_000 },
    userAgents: new UserAgentParser(),
  }
  const server = createHttpServer({ logger: pino({ level: 'silent' }), bodyLimit: config.ingest.maxRequestBytes })
  installProblemHandler(server, FRAMEWORK_PROBLEMS)
  const site: TestSite = {
    url: '',
    server,
    attributes: '',
    snippet: undefined,
    collected: [],
    stop: () => server.close(),
  }
  await server.register(async (scope) => {
    installBodyParsers(scope)
    scope.addHook('onResponse', async (request, reply) => {
      if (request.method !== 'POST' || request.routeOptions.url !== SITE_COLLECT_PATH) return
      const batch = (request.body as { batch?: Array<{ messageId?: string }> } | undefined)?.batch
      const mode = request.headers['sec-fetch-mode']
      site.collected.push({ ids: Array.isArray(batch) ? batch.map((message) => String(message.messageId)) : [], mode: typeof mode === 'string' ? mode : undefined, status: reply.statusCode })
    })
    await scope.register(snippetPlugin, { ...dependencies, scriptPath: SITE_SCRIPT_PATH, collectPath: SITE_COLLECT_PATH })
    scope.get('/*', async (request, reply) => reply.type('text/html; charset=utf-8').send(page(site.snippet ?? scriptTag(writeKey, site.attributes), request.url)))
  })
  const address = await server.listen({ port: 0, host: '127.0.0.1' })
  return Object.assign(site, { url: address })
}

const scriptTag = (writeKey: string, attributes: string) => `<script defer src="${SITE_SCRIPT_PATH}" data-key="${writeKey}" ${attributes}></script>`

function page(snippet: string, url: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Test page ${url.split('?')[0]}</title>
${snippet}</head>
<body>
<button id="buy">Buy now</button>
<a id="outbound" href="https://partner.example/offer" onclick="event.preventDefault()">Partner</a>
<a id="download" href="/files/report.pdf" onclick="event.preventDefault()">Report</a>
<a id="internal" href="/elsewhere">Elsewhere</a>
</body></html>`
}
