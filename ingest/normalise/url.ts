export interface PageLocation {
  readonly url: string
  readonly path: string
  readonly utm: { source: string; medium: string; campaign: string; term: string; content: string }
}

const EMPTY_UTM = Object.freeze({ source: '', medium: '', campaign: '', term: '', content: '' })

/** Splits a page URL into the parts analytics groups by; a relative or broken URL keeps what it can. */
export function parsePageUrl(url: string, fallbackPath = ''): PageLocation {
  if (!url) return { url: '', path: fallbackPath || '/', utm: EMPTY_UTM }
  let parsed: URL
  try {
    parsed = new URL(url, 'http://relative.invalid')
  } catch {
    return { url, path: fallbackPath || '/', utm: EMPTY_UTM }
  }
  const query = parsed.searchParams
  return {
    url,
    path: fallbackPath || decodePath(parsed.pathname),
    utm: {
      source: query.get('utm_source') ?? '',
      medium: query.get('utm_medium') ?? '',
      campaign: query.get('utm_campaign') ?? '',
      term: query.get('utm_term') ?? '',
      content: query.get('utm_content') ?? '',
    },
  }
}

/** `https://www.news.example/a` → `news.example`; a leading www. is noise for referrer reports. */
export function referrerDomain(referrer: string): string {
  if (!referrer) return ''
  try {
    return new URL(referrer).hostname.replace(/^www\./, '')
  } catch {
    return ''
  }
}

function decodePath(pathname: string): string {
  try {
    return decodeURI(pathname)
  } catch {
    return pathname
  }
}
