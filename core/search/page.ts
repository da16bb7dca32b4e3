import type { SearchHit, SearchPage, SearchPosition } from './port.ts'

/** Stores ask for one hit more than the page: if it came, there is a next page, after the last shown. */
export function page(hits: readonly SearchHit[], size: number, total: SearchPage['total']): SearchPage {
  if (hits.length <= size) return { hits, total }
  const shown = hits.slice(0, size)
  const last = shown.at(-1)!
  const next: SearchPosition = { ts: last.ts, eventId: last.eventId }
  return { hits: shown, total, next }
}
