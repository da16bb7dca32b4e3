import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Twilio's X-Twilio-Signature: base64 HMAC-SHA1, keyed with the account's auth token, of the
 * full URL Twilio requested followed by every POST parameter as name+value, names sorted (a
 * repeated name contributes each of its values, sorted). Twilio's own helpers also accept the URL
 * with the default port added or removed, because proxies differ on it; so does this.
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort()
  let data = url
  for (const name of names) for (const value of params.getAll(name).sort()) data += name + value
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64')
}

export function verifyTwilioSignature(authToken: string, signature: string | undefined, url: string, params: URLSearchParams): boolean {
  if (!signature) return false
  const given = Buffer.from(signature)
  return urlVariants(url).some((candidate) => {
    const expected = Buffer.from(twilioSignature(authToken, candidate, params))
    return expected.length === given.length && timingSafeEqual(expected, given)
  })
}

function urlVariants(url: string): string[] {
  try {
    const parsed = new URL(url)
    const defaultPort = parsed.protocol === 'https:' ? '443' : '80'
    const withoutPort = new URL(url)
    withoutPort.port = ''
    const withPort = `${parsed.protocol}//${parsed.hostname}:${parsed.port || defaultPort}${parsed.pathname}${parsed.search}`
    return [...new Set([url, withoutPort.toString(), withPort])]
  } catch {
    return [url]
  }
}
