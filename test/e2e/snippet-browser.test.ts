import { randomUUID } from 'node:crypto'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Eddy } from '../../ingest/snippet/src/tracker.ts'
import { describeWithChromium, launchChromium, startTestSite, type TestSite } from '../support/browser.ts'
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

  /** A fresh browser profile (its own localStorage) that records every collect request. */
  async function visitor(options: { doNotTrack?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; posts: Post[] }> {
    const context = await browser.newContext()
    if (options.doNotTrack) await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' }))
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

  it('counts single-page navigations: pushState, popstate, and replaceState only when the URL changed', async () => {
    site.attributes = ''
    const base = prefix()
    const { context, page } = await visitor()
    await page.goto(`${site.url}${base}/home`)
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
    await context.close()
  })

  it('keeps events offline, across a reload, and delivers each exactly once when back online', async () => {
    site.attributes = ''
    const base = prefix()
    const { context, page, posts } = await visitor()
    await page.goto(`${site.url}${base}/start`)
    await call(page, 'flush')
    await stored(base, 1)
    const queued = () => page.evaluate(() => JSON.parse(localStorage.getItem('eddy.q') ?? '[]').length as number)

    await context.setOffline(true)
    await call(page, 'track', 'Offline 1')
    await call(page, 'track', 'Offline 2')
    await call(page, 'flush') // fails: no network
    expect(await queued()).toBe(2)
    // Back online, the 'online' event sends at once.
    await context.setOffline(false)
    await expect.poll(queued, { timeout: 10_000 }).toBe(0)

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
    const { context, page } = await visitor()
    await page.goto(`${site.url}${base}/leaving`)
    await call(page, 'track', 'Navigated away')
    await page.goto(`${site.url}/elsewhere`) // well within the 1 s batching delay
    const closing = await context.newPage()
    await closing.goto(`${site.url}${base}/closing`)
    await call(closing, 'track', 'Closed tab')
    await closing.close({ runBeforeUnload: true })
    const rows = await eventually(() => clicks(base), (found) => new Set(found.map((row) => row.id)).size >= 4)
    // A request cut off by the navigation may have reached ingest and is then sent again (the
    // page never heard back): at-least-once delivery, counted once by event_id.
    const events = new Map(rows.map((row) => [row.id, row.name]))
    expect([...events.values()].sort()).toEqual(['', '', 'Closed tab', 'Navigated away'])
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
