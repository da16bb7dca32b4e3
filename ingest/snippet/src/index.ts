/**
 * The ESM build. Ingest serves it beside the script (`/eddy.mjs`, or the `.mjs` of
 * EDDY_SNIPPET_PATH) with CORS, so a page imports it as a module from ingest or, through its own
 * proxy, first-party:
 *
 *   import { createEddy } from 'https://eddy.example.com/eddy.mjs'
 *   const eddy = createEddy({ key: 'wk_…', api: 'https://eddy.example.com' })
 *
 * `npx tsx ingest/snippet/build.ts <dir>` writes it as eddy.mjs, to vendor into an app's bundle
 * or publish on a CDN or npm.
 */
import { createEddy as create, type Eddy, type EddyOptions } from './tracker.ts'

export type { Eddy, EddyOptions }

/** The collect path ingest is configured with, put in when ingest builds the module. */
declare const EDDY_COLLECT_PATH: string

/**
 * createEddy, posting by default to the collect path ingest was configured with (like the script
 * tag), so a module served under first-party names needs no `collect`; `api` defaults to the
 * page's origin.
 */
export const createEddy = (options: EddyOptions): Eddy => create({ ...options, collect: options.collect ?? EDDY_COLLECT_PATH })
