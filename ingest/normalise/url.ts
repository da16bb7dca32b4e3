export interface PageLocation {
  readonly url: string
  readonly path: string
  readonly utm: { source: string; medium: string; campaign: string; term: string; content: string }
}

const EMPTY_UTM = Object.freeze({ source: '', medium: '', campaign: '', term: '', content: '' })
// scheme://authority, then the path, the query and the fragment.
const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)(?:\?([^#]*))?/i
const HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i

/**
 * Splits a page URL into the parts analytics groups by. This runs for every event, so absolute
 * URLs are split with one regular expression instead of a WHATWG URL object, and the query is
 * only parsed when it holds utm_ parameters; anything unusual falls back to `new URL`.
 * A property test checks both paths agree.
 */
export function parsePageUrl(url: string, fallbackPath = ''): PageLocation {
  if (!url) return { url: '', path: fallbackPath || '/', utm: EMPTY_UTM }
  const match = ABSOLUTE.exec(url)
  if (match && !/[\s\\]|%2e|\/\.\.?(?:\/|$)/i.test(match[1]!)) {
    const query = match[2]
    return {
      url,
      path: fallbackPath || decodePath(match[1] || '/'),
      utm: query && query.includes('utm_') ? utmOf(new URLSearchParams(query)) : EMPTY_UTM,
    }
  }
  let parsed: URL
  try {
    parsed = new URL(url, 'http://relative.invalid')
  } catch {
    return { url, path: fallbackPath || '/', utm: EMPTY_UTM }
  }
  return { url, path: fallbackPath || decodePath(parsed.pathname), utm: parsed.search.includes('utm_') ? utmOf(parsed.searchParams) : EMPTY_UTM }
}

/** `https://www.news.example/a` → `news.example`; a leading www. is noise for referrer reports. */
export function referrerDomain(referrer: string): string {
  if (!referrer) return ''
  const match = HOST.exec(referrer)
  if (match && /^[a-z0-9.-]+$/i.test(match[1]!)) return match[1]!.toLowerCase().replace(/^www\./, '')
  try {
    return new URL(referrer).hostname.replace(/^www\./, '')
  } catch {
    return ''
  }
}

function utmOf(query: URLSearchParams): PageLocation['utm'] {
  return {
    source: query.get('utm_source') ?? '',
    medium: query.get('utm_medium') ?? '',
    campaign: query.get('utm_campaign') ?? '',
    term: query.get('utm_term') ?? '',
    content: query.get('utm_content') ?? '',
  }
}

function decodePath(pathname: string): string {
  if (!pathname.includes('%')) return pathname
  try {
    return decodeURI(pathname)
  } catch {
    return pathname
  }
}
