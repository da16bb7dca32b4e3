import { UAParser } from 'ua-parser-js'

export interface Client {
  readonly browser: string
  readonly os: string
  readonly deviceType: 'desktop' | 'mobile' | 'tablet' | 'bot' | 'other'
}

const BOT = /bot|crawl|spider|slurp|headless|lighthouse|pingdom|uptime|monitor|curl\/|wget|python-requests|httpclient|go-http-client/i
const CACHE_LIMIT = 2_000

/**
 * Parses user agents with ua-parser-js. Parsing costs tens of microseconds and real traffic
 * repeats a small set of user agents (a batch usually shares one), so results are cached with a
 * bounded insertion-order eviction.
 */
export class UserAgentParser {
  private readonly cache = new Map<string, Client>()

  parse(userAgent: string): Client {
    const cached = this.cache.get(userAgent)
    if (cached) return cached
    const client = classify(userAgent)
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!)
    this.cache.set(userAgent, client)
    return client
  }
}

function classify(userAgent: string): Client {
  if (!userAgent) return { browser: '', os: '', deviceType: 'other' }
  const result = new UAParser(userAgent).getResult()
  const browser = result.browser.name ?? ''
  const os = result.os.name ?? ''
  if (BOT.test(userAgent)) return { browser, os, deviceType: 'bot' }
  switch (result.device.type) {
    case 'mobile':
    case 'wearable':
      return { browser, os, deviceType: 'mobile' }
    case 'tablet':
      return { browser, os, deviceType: 'tablet' }
    case undefined:
      return { browser, os, deviceType: browser ? 'desktop' : 'other' }
    default:
      return { browser, os, deviceType: 'other' }
  }
}
