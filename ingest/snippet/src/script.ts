/**
 * The script-tag build: `<script defer src="https://eddy.example.com/eddy.js" data-key="wk_…">`.
 * Options are data attributes (data-api, data-collect, data-hash, data-autocapture,
 * data-cookieless, data-links="false"); calls made before it loaded (window.eddy.q) are replayed.
 */
import { createEddy, type Eddy } from './tracker.ts'

/** The collect path ingest is configured with, put in when ingest builds the script. */
declare const EDDY_COLLECT_PATH: string

type Stub = { q?: Array<[keyof Eddy, ...unknown[]]> }
const global = window as unknown as { eddy?: Eddy & Stub }
const script = (document.currentScript ?? document.querySelector('script[data-key]')) as HTMLScriptElement
const data = script.dataset
const flag = (name: string) => (data[name] ?? 'false') !== 'false'
const queued = global.eddy?.q

const eddy = (global.eddy = createEddy({
  key: data.key!,
  api: data.api ?? new URL(script.src, location.href).origin,
  collect: data.collect ?? EDDY_COLLECT_PATH,
  hash: flag('hash'),
  autocapture: flag('autocapture'),
  cookieless: flag('cookieless'),
  links: data.links !== 'false',
}))
for (const [method, ...args] of queued ?? []) (eddy[method] as (...values: unknown[]) => void)(...args)
