import { createQueue, type Message, type Transport } from './queue.ts'
import { persistent, read, volatile, write } from './storage.ts'

export interface EddyOptions {
  /** The project's write key (public). */
  readonly key: string
  /** Where ingest is, e.g. https://eddy.example.com (default: this page's origin). */
  readonly api?: string
  /** The collect path, renamable so a site can serve it first-party (default /v1/batch). */
  readonly collect?: string
  /** Count hash changes as pageviews, for hash-routed apps (#/route). */
  readonly hash?: boolean
  /** Track clicks on links and buttons as `$click` events. */
  readonly autocapture?: boolean
  /** Track outbound links and file downloads (default true). */
  readonly links?: boolean
  /** Store nothing in the browser: the server derives a daily-rotating visitor hash instead. */
  readonly cookieless?: boolean
  /** Send a pageview now and on every navigation, including single-page apps (default true). */
  readonly pageviews?: boolean
}

export interface Eddy {
  track(event: string, properties?: Record<string, unknown>): void
  identify(userId: string, traits?: Record<string, unknown>): void
  /** A pageview of the current location (automatic ones are deduplicated, this one is not). */
  page(properties?: Record<string, unknown>): void
  /** Forget the user and start a new anonymous id (on log-out). */
  reset(): void
  /** Stop sending, and drop what is queued, until optIn(); remembered in localStorage. */
  optOut(): void
  optIn(): void
  flush(): Promise<void>
}

const DOWNLOAD = /\.(pdf|docx?|xlsx?|pptx?|csv|txt|zip|rar|7z|t?gz|dmg|exe|msi|pkg|deb|rpm|apk|iso|mp[34]|mov)$/i

/** A random UUID v4; crypto.randomUUID only exists in secure contexts. */
export const uuid = (): string =>
  crypto.randomUUID?.() ?? '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) => (+c ^ (crypto.getRandomValues(new Uint8Array(1))[0]! & (15 >> (+c / 4)))).toString(16))

export function createEddy(options: EddyOptions): Eddy {
  const { hash, cookieless } = options
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean }
  // Do Not Track (and Global Privacy Control) off means nothing is stored and nothing is sent.
  const off = nav.doNotTrack === '1' || nav.globalPrivacyControl === true
  const stored = !cookieless && !off
  const newId = () => (stored && write('a', uuid()), read('a') ?? uuid())
  let anonymousId = cookieless || off ? undefined : read('a') ?? newId()
  let userId = stored ? read('u') ?? undefined : undefined

  const url = (options.api ?? location.origin).replace(/\/$/, '') + (options.collect ?? '/v1/batch')
  const send: Transport = (body, keepalive) =>
    fetch(url, { method: 'POST', body, keepalive, credentials: 'omit' }).then((response) => [response.status, response.headers.get('retry-after')])
  const queue = createQueue({
    storage: stored ? persistent('q') : volatile(),
    send,
    beacon: (body) => {
      try {
        return nav.sendBeacon(url, body)
      } catch {
        return false
      }
    },
    body: (batch, sentAt) => JSON.stringify({ batch, sentAt: new Date(sentAt).toISOString(), writeKey: options.key }),
  })

  const where = () => (hash ? location.href : location.href.replace(/#.*/, ''))
  let last = ''
  let referrer = document.referrer

  const message = (type: string, fields: object) => {
    if (off || read('o')) return
    queue.push({
      type,
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      anonymousId,
      userId,
      ...fields,
      context: {
        page: { url: location.href, path: location.pathname + (hash ? location.hash : ''), title: document.title, referrer },
        screen: { width: screen.width, height: screen.height },
        locale: nav.language,
        cookieless,
      },
    } as Message)
  }

  const page = (properties?: object) => {
    // In-app navigations refer from the previous page, as a full page load would.
    if (last) referrer = last
    last = where()
    message('page', { properties })
  }
  const navigated = () => where() !== last && page()

  const track = (event: string, properties?: object) => message('track', { event, properties })
  const clicked = (event: Event) => {
    const target = (event.target as Element).closest?.('a,button,[role=button],[type=submit]')
    const link = target?.closest('a[href]') as HTMLAnchorElement | null
    if (link && options.links !== false) {
      if (/^https?:$/.test(link.protocol) && link.host !== location.host) track('Outbound Link', { url: link.href })
      else if (DOWNLOAD.test(link.pathname)) track('File Download', { url: link.href })
    }
    if (target && options.autocapture) {
      track('$click', { tag: target.tagName.toLowerCase(), text: (target.textContent ?? '').trim().slice(0, 100), href: link?.href, id: target.id || undefined })
    }
  }

  if (!off) {
    if (options.pageviews !== false) {
      for (const method of ['pushState', 'replaceState'] as const) {
        const original = history[method]
        history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
          original.apply(this, args)
          navigated()
        }
      }
      addEventListener('popstate', navigated)
      if (hash) addEventListener('hashchange', navigated)
      page()
    }
    addEventListener('click', clicked, true)
    addEventListener('auxclick', clicked, true)
    // Offline, a beacon is accepted and then lost: the events stay stored for the next visit.
    const unload = () => nav.onLine && queue.unload()
    addEventListener('pagehide', unload)
    addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && unload())
    addEventListener('online', queue.online)
    // Whatever an earlier visit left queued (offline, closed mid-send) goes now.
    void queue.flush()
  }

  return {
    track,
    identify(id, traits) {
      userId = id
      if (stored) write('u', id)
      message('identify', { userId: id, traits })
    },
    page,
    reset() {
      userId = undefined
      write('u')
      if (anonymousId) anonymousId = newId()
    },
    optOut() {
      write('o', '1')
      write('a')
      write('u')
      queue.clear()
    },
    optIn: () => void write('o'),
    flush: queue.flush,
  }
}
