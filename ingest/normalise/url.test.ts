import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parsePageUrl, referrerDomain } from './url.ts'

/** The slow, obviously right answer: WHATWG URL. */
function reference(url: string) {
  const parsed = new URL(url)
  let path = parsed.pathname
  try {
    path = decodeURI(path)
  } catch {
    // kept encoded
  }
  const q = parsed.searchParams
  return { path, utm: { source: q.get('utm_source') ?? '', medium: q.get('utm_medium') ?? '', campaign: q.get('utm_campaign') ?? '', term: q.get('utm_term') ?? '', content: q.get('utm_content') ?? '' } }
}

describe('parsePageUrl', () => {
  it('agrees with WHATWG URL on http(s) URLs', () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9._~%-]{0,8}$/)
    const url = fc.record({
      scheme: fc.constantFrom('http', 'https', 'HTTPS'),
      host: fc.constantFrom('shop.example', 'www.shop.example', 'user@shop.example:8443', '[::1]'),
      path: fc.array(segment, { maxLength: 4 }),
      query: fc.option(fc.array(fc.tuple(fc.constantFrom('utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'q', 'utm_source'), fc.stringMatching(/^[a-z0-9+%]{0,6}$/)), { maxLength: 4 })),
      fragment: fc.option(fc.stringMatching(/^[a-z?=&]{0,6}$/)),
    }).map(({ scheme, host, path, query, fragment }) =>
      `${scheme}://${host}/${path.join('/')}${query ? `?${query.map(([k, v]) => `${k}=${v}`).join('&')}` : ''}${fragment === null ? '' : `#${fragment}`}`)
    fc.assert(fc.property(url, (value) => {
      const fast = parsePageUrl(value)
      expect({ path: fast.path, utm: fast.utm }).toEqual(reference(value))
    }), { numRuns: 2_000 })
  })

  it('handles relative, dot-segment and broken URLs through the fallback', () => {
    expect(parsePageUrl('/docs?utm_source=x').path).toBe('/docs')
    expect(parsePageUrl('/docs?utm_source=x').utm.source).toBe('x')
    expect(parsePageUrl('https://a.example/x/../y').path).toBe('/y')
    expect(parsePageUrl('https://a.example/%E2%82%AC').path).toBe('/€')
    expect(parsePageUrl('https://a.example/%E2').path).toBe('/%E2')
    expect(parsePageUrl('', '/fallback').path).toBe('/fallback')
    expect(parsePageUrl('https://a.example/p', '/given').path).toBe('/given')
  })
})

describe('referrerDomain', () => {
  it.each([
    ['https://www.news.example/a', 'news.example'],
    ['https://News.Example:8080/a?b', 'news.example'],
    ['http://user:pw@host.example/', 'host.example'],
    ['android-app://com.google.android.gm/', 'com.google.android.gm'],
    ['not a url', ''],
    ['', ''],
  ])('%s → %s', (referrer, domain) => {
    expect(referrerDomain(referrer)).toBe(domain)
  })
})
