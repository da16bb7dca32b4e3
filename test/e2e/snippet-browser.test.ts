import { randomUUID } from 'node:crypto'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import type { Eddy } from '../../ingest/snippet/src/tracker.ts'
import { describeWithChromium, launchChromium, SITE_COLLECT_PATH, SITE_MODULE_PATH, startTestSite, type TestSite } from '../support/browser.ts'
import { eventually, startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

interface Row {
  id: string
  type: string
  name: string
  path: string
  referrer: string
  anonymous_id: string
  user_id: string
  visitor_hash: string
  properties: Record<string, string>
}

/** What the browser posted to a collect path, and how ingest answered. */
interface Post {
  url: string
  ids: string[]
  status: number
}

describeWithChromium('the snippet in a real browser', () => {
  let eddy: TestPipeline
  let site: TestSite
  let browser: Browser

  beforeAll(async () => {
    eddy = await startTestPipeline()
    site = await startTestSite(eddy, TEST_WRITE_KEY)
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await site?.stop()
    await eddy?.stop()
  })
  afterEach(() => {
    site.snippet = undefined
  })

  /** Clicks whose page path starts with `prefix`, as stored (no FINAL: duplicates would show). */
  async function clicks(prefix: string): Promise<Row[]> {
    const clickhouse = await eddy.runtime.clickhouse()
    const result = await clickhouse.query({
      query: `SELECT toString(event_id) AS id, type, name, path, referrer, anonymous_id, user_id, visitor_hash, properties
              FROM eddy.events_click WHERE project_id = 'alpha' AND startsWith(path, {prefix:String}) ORDER BY ts, name`,
      query_params: { prefix },
      format: 'JSONEachRow',
    })
    return result.json<Row>()
  }
  const stored = (prefix: string, count: number) => eventually(() => clicks(prefix), (rows) => rows.length >= count)

  /**
   * A fresh browser profile (its own localStorage) that records every collect request it sees.
   * `recordBeacons` wraps navigator.sendBeacon to note, in localStorage (`test.beacons`, which
   * outlives the page), the message ids of every beacon and whether the browser accepted it.
   */
  async function visitor(options: { doNotTrack?: boolean; recordBeacons?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; posts: Post[] }> {
    const context = await browser.newContext()
    if (options.doNotTrack) await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' }))
    if (options.recordBeacons) {
      await context.addInitScript(() => {
        const send = navigator.sendBeacon.bind(navigator)
        navigator.sendBeacon = (url, data) => {
          const accepted = send(url, data)
          const beacons = JSON.parse(localStorage.getItem('test.beacons') ?? '[]') as unknown[]
          beacons.push({ ids: (JSON.parse(String(data)) as { batch: Array<{ messageId: string }> }).batch.map((message) => message.messageId), accepted })
          localStorage.setItem('test.beacons', JSON.stringify(beacons))
          return accepted
        }
      })
    }
    const posts: Post[] = []
    context.on('response', (response) => {
      const request = response.request()
      if (request.method() !== 'POST') return
      const body = JSON.parse(request.postData() ?? '{}') as { batch?: Array<{ messageId: string }> }
      posts.push({ url: request.url(), ids: (body.batch ?? []).map((message) => message.messageId), status: response.status() })
    })
    return { context, page: await context.newPage(), posts }
  }

  const call = <M extends keyof Eddy>(page: Page, method: M, ...args: Parameters<Eddy[M]>) =>
    page.evaluate(([name, values]) => (window as unknown as { eddy: Record<string, (...v: unknown[]) => unknown> }).eddy[name]!(...values), [method, args] as const)
  const prefix = () => `/t${randomUUID().slice(0, 8)}`
  /** Events waiting in the shared localStorage queue. */
  const queued = (page: Page) => page.evaluate(() => JSON.parse(localStorage.getItem('eddy.q') ?? '[]').length as number)

  it('counts single-page navigations: pushState, popstate, and replaceState only when the URL changed', async () => {
    site.attributes = ''
    const base = prefix()
    const { context, page } = await visitor()
    await page.goto(`${site.url}${base}/home`)
    // The load's pageview travels alone; once it is stored, a slow first request (a loaded
    // machine) cannot make the skew-corrected times of the navigations below sort before it.
    await stored(base, 1)
    await page.evaluate((b) => history.pushState({}, '', `${b}/pricing`), base)
    await page.evaluate((b) => history.pushState({}, '', `${b}/docs?q=1`), base)
    await page.evaluate(() => history.replaceState({ scroll: 1 }, '', location.href))
    await page.goBack()
    await page.waitForURL(`**${base}/pricing`)
    await call(page, 'flush')
    const rows = await stored(base, 4)
    expect(rows.map((row) => [row.type, row.path])).toEqual([['pageview', `${base}/home`], ['pageview', `${base}/pricing`], ['pageview', `${base}/docs`], ['pageview', `${base}/pricing`]])
    expect(rows[1]!.referrer).toBe(`${site.url}${base}/home`)
    expect(new Set(rows.map((row) => row.anonymous_id)).size).toBe(1)
    await context.close()
  })

  it('counts hash routes when asked to', async () => {
    site.attributes = 'data-hash'
    const base = prefix()
    const { context, page } = await visitor()
    await page.goto(`${site.url}${base}/app`)
    await stored(base, 1)
    await page.evaluate(() => (location.hash = '#/settings'))
    await page.evaluate(() => (location.hash = '#/settings')) // the same route again: no pageview
    await call(page, 'flush')
    expect((await stored(base, 2)).map((row) => row.path)).toEqual([`${base}/app`, `${base}/app#/settings`])
    await context.close()
  })

  it('tracks and identifies cross-origin into ingest, with click autocapture, outbound links and downloads', async () => {
    site.attributes = `data-api="${eddy.url}" data-collect="/v1/batch" data-autocapture`
    const base = prefix()
    const { context, page, posts } = await visitor()
    await page.goto(`${site.url}${base}/shop`)
    await call(page, 'track', 'Signed Up', { plan: 'pro', seats: 3 })
    await call(page, 'identify', 'user-7', { tier: 'gold' })
    await call(page, 'track', 'Checkout')
    await page.click('#buy')
    await page.click('#outbound')
    await page.click('#download')
    await call(page, 'flush')
    const rows = await stored(base, 9)
    const anonymousId = await page.evaluate(() => localStorage.getItem('eddy.a'))
    // Same-millisecond events have no order: compare as sets.
    expect(rows.map((row) => `${row.type} ${row.name} ${row.user_id}`).sort()).toEqual([
      'pageview  ',
      'custom Signed Up ',
      'identify  user-7',
      'custom Checkout user-7',
      'click $click user-7',
      'click $click user-7',
      'click $click user-7',
      'custom Outbound Link user-7',
      'custom File Download user-7',
    ].sort())
    expect(rows.every((row) => row.anonymous_id === anonymousId)).toBe(true)
    expect(rows.find((row) => row.name === 'Signed Up')!.properties).toEqual({ plan: 'pro', seats: '3' })
    expect(rows.find((row) => row.type === 'identify')!.properties).toEqual({ tier: 'gold' })
    expect(rows.find((row) => row.name === 'Outbound Link')!.properties).toEqual({ url: 'https://partner.example/offer' })
    expect(rows.find((row) => row.name === 'File Download')!.properties.url).toBe(`${site.url}/files/report.pdf`)
    expect(rows.find((row) => row.type === 'click')!.properties).toMatchObject({ tag: 'button', text: 'Buy now', id: 'buy' })
    expect(posts.every((post) => post.url === `${eddy.url}/v1/batch` && post.status === 202)).toBe(true)
    // The snippet sets no cookies, on the site or on ingest's origin.
    expect(await context.cookies()).toEqual([])
    await context.close()
  })

  /**
   * A page that loads the ESM build with a module script, as docs/snippet.md shows, tracks and
   * identifies; returns what ClickHouse stored and where the browser posted.
   */
  async function moduleVisit(module: string, options: string): Promise<{ rows: Row[]; posts: Post[] }> {
    site.snippet = `<script type="module">
      import { createEddy } from '${module}'
      window.eddy = createEddy({ key: '${TEST_WRITE_KEY}'${options} })
    </script>`
    const base = prefix()
    const { context, page, posts } = await visitor()
    await page.goto(`${site.url}${base}/module`)
    await call(page, 'track', 'Module Event', { build: 'esm' })
    await call(page, 'identify', 'user-esm', { tier: 'silver' })
    await call(page, 'track', 'After Identify')
    await call(page, 'flush')
    const rows = await stored(base, 4)
    const anonymousId = await page.evaluate(() => localStorage.getItem('eddy.a'))
    expect(rows.map((row) => `${row.type} ${row.name} ${row.user_id}`).sort()).toEqual(['pageview  ', 'custom Module Event ', 'identify  user-esm', 'custom After Identify user-esm'].sort())
    expect(rows.every((row) => row.anonymous_id === anonymousId && row.path === `${base}/module`)).toBe(true)
    expect(rows.find((row) => row.name === 'Module Event')!.properties).toEqual({ build: 'esm' })
    expect(rows.find((row) => row.type === 'identify')!.properties).toEqual({ tier: 'silver' })
    expect(await context.cookies()).toEqual([])
    await context.close()
    return { rows, posts }
  }

  it('the ESM build served first-party beside the script: only a key, and it posts to the configured collect path', async () => {
    const { posts } = await moduleVisit(SITE_MODULE_PATH, '')
    expect(posts.length).toBeGreaterThan(0)
    expect(posts.every((post) => post.url === `${site.url}${SITE_COLLECT_PATH}` && post.status === 202)).toBe(true)
  })

  it('the ESM build imported cross-origin from ingest (/eddy.mjs, CORS) posts to the given api', async () => {
    const { posts } = await moduleVisit(`${eddy.url}/eddy.mjs`, `, api: '${eddy.url}'`)
    expect(posts.length).toBeGreaterThan(0)
    expect(posts.every((post) => post.url === `${eddy.url}/v1/batch` && post.status === 202)).toBe(true)
  })

  it('keeps events offline, across a reload, and delivers each exactly once when back online', async () => {
    site.attributes = ''
    const base = prefix()
    const { context, page, posts } = await visitor()
    await page.goto(`${site.url}${base}/start`)
    await call(page, 'flush')
    await stored(base, 1)

    await context.setOffline(true)
    await call(page, 'track', 'Offline 1')
    await call(page, 'track', 'Offline 2')
    await call(page, 'flush') // fails: no network
    expect(await queued(page)).toBe(2)
    // Back online, the 'online' event sends at once.
    await context.setOffline(false)
    await expect.poll(() => queued(page), { timeout: 10_000 }).toBe(0)

    // Offline again, and the page goes away: the event waits in storage for the next visit.
    await context.setOffline(true)
    await call(page, 'track', 'Offline 3')
    await page.close()
    await context.setOffline(false)
    const next = await context.newPage()
    await next.goto(`${site.url}${base}/again`)
    await call(next, 'flush')

    const rows = await stored(base, 5)
    await new Promise((resolve) => setTimeout(resolve, 1_000)) // time for a duplicate to show up
    const final = await clicks(base)
    expect(final.map((row) => row.name).sort()).toEqual(['', '', 'Offline 1', 'Offline 2', 'Offline 3'])
    expect(new Set(final.map((row) => row.id)).size).toBe(final.length)
    expect(rows.length).toBe(final.length)
    // Each event was accepted by ingest exactly once, too.
    // Ingest accepted no event twice. (Playwright does not see beacons: Chromium sometimes still
    // sends the closing page's beacon, since emulated offline ends with the page; then that
    // event arrives that way instead of with the next page, once either way.)
    const accepted = posts.filter((post) => post.status === 202).flatMap((post) => post.ids)
    expect(new Set(accepted).size).toBe(accepted.length)
    expect(final.map((row) => row.id)).toEqual(expect.arrayContaining(accepted))
    await context.close()
  })

  it('delivers what is queued when the page goes away, by beacon', async () => {
    site.attributes = ''
    const base = prefix()
    const { context, page } = await visitor({ recordBeacons: true })
    // Time stands still in the pages, so the 1 s batching timer never fires: a tracked event can
    // leave only when its page goes away, or with a later page that finds it still queued.
    await context.clock.install()
    await context.clock.pauseAt(Date.now() + 1_000)
    await page.goto(`${site.url}${base}/leaving`)
    await expect.poll(() => queued(page)).toBe(0) // the pageview went at load
    await call(page, 'track', 'Navigated away')
    await page.goto(`${site.url}/elsewhere`)
    const closing = await context.newPage()
    await closing.goto(`${site.url}${base}/closing`)
    await stored(base, 2) // both pageviews
    await call(closing, 'track', 'Closed tab')
    await closing.close({ runBeforeUnload: true })
    const rows = await eventually(() => clicks(base), (found) => new Set(found.map((row) => row.id)).size >= 4)
    const events = new Map(rows.map((row) => [row.id, row.name]))
    expect([...events.values()].sort()).toEqual(['', '', 'Closed tab', 'Navigated away'])

    const navigated = rows.find((row) => row.name === 'Navigated away')!.id
    const closed = rows.find((row) => row.name === 'Closed tab')!.id
    // The snippet handed each to navigator.sendBeacon, once, and the browser took it.
    const beacons = () => page.evaluate(() => JSON.parse(localStorage.getItem('test.beacons') ?? '[]') as unknown[])
    await expect.poll(beacons).toEqual([{ ids: [navigated], accepted: true }, { ids: [closed], accepted: true }])
    // And ingest got each in one request, a beacon (no-cors); no fetch carried them, neither the
    // keepalive one nor the next page's flush, and nothing is left queued for a later visit.
    const carrying = (id: string) => site.collected.filter((post) => post.ids.includes(id)).map((post) => [post.mode, post.status])
    expect(carrying(navigated)).toEqual([['no-cors', 202]])
    expect(carrying(closed)).toEqual([['no-cors', 202]])
    // The last page's own pageview may still be on its way on a busy machine: wait for it to land.
    await expect.poll(() => queued(page), { timeout: 15_000 }).toBe(0)
    await context.close()
  })

  it('sends nothing and stores nothing with Do Not Track on', async () => {
    site.attributes = 'data-autocapture'
    const base = prefix()
    const { context, page, posts } = await visitor({ doNotTrack: true })
    await page.goto(`${site.url}${base}/private`)
    await call(page, 'track', 'Should not arrive')
    await page.evaluate((b) => history.pushState({}, '', `${b}/next`), base)
    await page.click('#buy')
    await call(page, 'flush')
    await page.goto(`${site.url}/elsewhere`)
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([])
    expect(posts).toEqual([])
    await context.close()
    await expectNothingStored(base)
  })

  it('sends nothing after optOut(), also on later visits, until optIn()', async () => {
    site.attributes = ''
    const base = prefix()
    const { context, page, posts } = await visitor()
    await page.goto(`${site.url}${base}/a`)
    await call(page, 'flush')
    await stored(base, 1)
    await expect.poll(() => posts.length).toBe(1)
    await call(page, 'optOut')
    await call(page, 'track', 'Opted out')
    await page.goto(`${site.url}${base}/b`)
    await call(page, 'track', 'Still opted out')
    await call(page, 'flush')
    expect(posts).toHaveLength(1)
    await call(page, 'optIn')
    await call(page, 'track', 'Opted in')
    await call(page, 'flush')
    const rows = await stored(base, 2)
    expect(rows.map((row) => [row.name, row.path])).toEqual([['', `${base}/a`], ['Opted in', `${base}/b`]])
    await context.close()
  })

  it('cookieless mode stores nothing in the browser; the server hashes the visitor', async () => {
    site.attributes = 'data-cookieless'
    const base = prefix()
    const { context, page } = await visitor()
    await page.goto(`${site.url}${base}/one`)
    await page.goto(`${site.url}${base}/two`)
    await call(page, 'track', 'Cookieless')
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([])
    await call(page, 'flush')
    const rows = await stored(base, 3)
    expect(rows.map((row) => row.name)).toEqual(['', '', 'Cookieless'])
    expect(rows[0]!.visitor_hash).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(rows.every((row) => row.anonymous_id === rows[0]!.visitor_hash && row.visitor_hash === rows[0]!.visitor_hash)).toBe(true)
    await context.close()
  })

  /** Nothing under `prefix`, checked after a later marker event of the same site was stored. */
  async function expectNothingStored(base: string): Promise<void> {
    site.attributes = ''
    const marker = `${base}-marker`
    const { context, page } = await visitor()
    await page.goto(`${site.url}${marker}`)
    await call(page, 'flush')
    await stored(marker, 1)
    await context.close()
    expect((await clicks(base)).filter((row) => !row.path.startsWith(marker))).toEqual([])
  }
})
