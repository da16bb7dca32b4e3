import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeWithChromium, launchChromium } from '../support/browser.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts')
const basic = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`

/**
 * The colours of each chart's series with data in this test, as the dashboard draws them (main.ts).
 * Notification outcomes share seconds and values (one delivered, one failed), so a later series
 * may cover an earlier one: any of them visible is a drawn chart.
 */
const SERIES_COLOURS: Record<string, Array<[number, number, number]>> = {
  'pageviews-chart': [[0x25, 0x63, 0xeb]],
  'visitors-chart': [[0x08, 0x91, 0xb2]],
  'errors-chart': [[0xdc, 0x26, 0x26]],
  'notifications-chart': [[0x16, 0xa3, 0x4a], [0xdc, 0x26, 0x26]],
}
const FIGURES = ['pageviews-now', 'pageviews-minute', 'events-minute', 'visitors-now', 'error-rate', 'ingest-rate']
const NUMBER = /^\d[\d,.]*%?$/

/** Pixels of each chart's canvas in its first series' colour: what a person sees as a line. */
function drawnPixels(page: Page): Promise<Record<string, number>> {
  return page.evaluate((colours) => Object.fromEntries(Object.entries(colours).map(([id, series]) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`#${id} canvas`)!
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
    let count = 0
    for (let index = 0; index < data.length; index += 4) {
      const matches = series.some(([r, g, b]) => Math.abs(data[index]! - r) < 24 && Math.abs(data[index + 1]! - g) < 24 && Math.abs(data[index + 2]! - b) < 24)
      if (matches && data[index + 3]! > 200) count++
    }
    return [id, count]
  })), SERIES_COLOURS)
}

/** Pairs of axis labels whose boxes overlap, per chart, measured with the font uPlot drew them in. */
function overlappingLabels(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const overlaps: string[] = []
    for (const element of Array.from(document.querySelectorAll<HTMLElement & { uplot?: any }>('.chart'))) {
      const plot = element.uplot
      if (!plot) throw new Error(`${element.id} has no chart`)
      plot.axes.forEach((axis: any, index: number) => {
        const context: CanvasRenderingContext2D = plot.ctx
        context.font = axis.font[0]
        const size = axis.font[1] as number
        const horizontal = index === 0
        const boxes = (axis._splits as number[]).flatMap((split, at) => {
          const text = axis._values?.[at]
          if (text === null || text === undefined || text === '') return []
          const lines = String(text).split('\n')
          const centre = plot.valToPos(split, axis.scale, true)
          const extent = horizontal ? Math.max(...lines.map((line) => context.measureText(line).width)) : size * lines.length
          return [{ text: lines.join(' '), from: centre - extent / 2, to: centre + extent / 2 }]
        }).sort((a, b) => a.from - b.from)
        for (let at = 1; at < boxes.length; at++) {
          if (boxes[at]!.from < boxes[at - 1]!.to) overlaps.push(`${element.id} axis ${index}: "${boxes[at - 1]!.text}" and "${boxes[at]!.text}"`)
        }
        if (boxes.length === 0) overlaps.push(`${element.id} axis ${index} has no labels`)
      })
    }
    return overlaps
  })
}

async function post(url: string, path: string, body: string, contentType = 'application/json'): Promise<void> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: basic, 'content-type': contentType }, body })
  expect(response.status, await response.clone().text()).toBe(202)
}

describeWithChromium('the built-in dashboard in a real browser', () => {
  let eddy: TestPipeline
  let browser: Browser
  let page: Page
  const problems: string[] = []

  beforeAll(async () => {
    eddy = await startTestPipeline()
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await eddy?.stop()
  })

  it('connects with the key from the URL fragment, then numbers, charts, lists and the tail follow posted events', async () => {
    // The script is bundled at its first request: build it before timing the first paint.
    expect((await fetch(`${eddy.url}/dashboard/app.js`)).status).toBe(200)
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 } })
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`) })
    await page.goto(`${eddy.url}/#key=${TEST_READ_KEY}`)
    // Every card shows a number within 2 s of load, before any event was sent.
    await page.waitForFunction(({ ids, pattern }) => ids.every((id) => new RegExp(pattern).test(document.getElementById(id)?.textContent ?? '')), { ids: FIGURES, pattern: NUMBER.source }, { timeout: 2_000 })
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 15_000 })
    // The key left the address bar (and so the history and any screenshot of it).
    expect(page.url()).not.toContain(TEST_READ_KEY)
    expect(await page.textContent('#project')).toContain('alpha')

    const now = Date.now()
    const pages = ['/pricing', '/pricing', '/pricing', '/docs', '/docs', '/', '/blog']
    await post(eddy.url, '/v1/batch', JSON.stringify({
      batch: pages.map((path, index) => ({
        type: 'page', anonymousId: `visitor-${index % 4}`, timestamp: new Date(now - index * 10).toISOString(),
        properties: { url: `https://shop.example${path}`, referrer: index % 2 ? 'https://news.ycombinator.com/' : '' },
      })),
    }))
    const line = (level: string, message: string) => JSON.stringify({ service: 'checkout', level, message })
    await post(eddy.url, '/v1/logs', [line('info', 'ok'), line('info', 'ok'), line('error', 'payment failed'), line('warn', 'slow')].join('\n'), 'application/x-ndjson')
    await post(eddy.url, '/v1/notifications', JSON.stringify([
      { notification_id: 'n1', channel: 'email', provider: 'sendgrid', template: 'welcome', status: 'sent' },
      { notification_id: 'n1', channel: 'email', provider: 'sendgrid', template: 'welcome', status: 'delivered' },
      { notification_id: 'n2', channel: 'sms', provider: 'twilio', template: 'otp', status: 'failed' },
    ]))

    await page.waitForFunction(() => document.getElementById('pageviews-minute')?.textContent === '7', undefined, { timeout: 15_000 })
    await page.waitForFunction(() => document.getElementById('error-rate')?.textContent === '25.0%', undefined, { timeout: 10_000 })
    await page.waitForFunction(() => Number(document.getElementById('notifications-chart')?.dataset.points) > 0, undefined, { timeout: 10_000 })
    // The project's own ingest, from the live health channel: 14 events in the last 10 s.
    await page.waitForFunction(() => Number(document.getElementById('ingest-rate')?.textContent) > 0, undefined, { timeout: 10_000 })
    expect(await page.$$eval('#ingest-streams li span', (items) => items.map((item) => item.textContent))).toEqual(['click', 'log', 'notification'])
    expect(await page.$$eval('#log-levels li span', (items) => items.map((item) => item.textContent))).toEqual(['info', 'warn', 'error'])
    await page.waitForFunction(() => document.querySelectorAll('#tail li').length >= 10, undefined, { timeout: 10_000 })

    // Each chart has drawn its series: pixels in the series' colour on its canvas, not a counter the page keeps.
    const drawn = await eventually(() => drawnPixels(page), (pixels) => Object.values(pixels).every((count) => count >= 10), 15_000)
    expect(Object.entries(drawn).filter(([, count]) => count < 10), JSON.stringify(drawn)).toEqual([])
    expect(await overlappingLabels(page)).toEqual([])

    // From ClickHouse through the REST api, refreshed every 10 s.
    await page.waitForFunction(() => document.querySelector('#top-pages li span')?.textContent === '/pricing', undefined, { timeout: 30_000 })
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#referrers li span')).some((item) => item.textContent === 'news.ycombinator.com'), undefined, { timeout: 15_000 })
    await page.waitForFunction(() => document.querySelector('#funnel li b')?.textContent === '1', undefined, { timeout: 15_000 })

    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })
    expect(problems).toEqual([])
  })

  it('fills active visitors and pipeline health from the REST api before the live feed says anything', async () => {
    const expected = await eventually(async () => {
      const response = await fetch(`${eddy.url}/api/v1/stats/realtime?minutes=1`, { headers: { authorization: `Bearer ${TEST_READ_KEY}` } })
      return (await response.json()) as { active: { visitors: number } }
    }, (answer) => answer.active.visitors > 0, 30_000)
    const quiet = await browser.newPage()
    // The WebSocket opens against a stand-in that never answers: whatever the cards show came over REST.
    await quiet.routeWebSocket(/\/api\/v1\/live/, () => {})
    await quiet.goto(`${eddy.url}/#key=${TEST_READ_KEY}`)
    await quiet.waitForFunction((visitors) => document.getElementById('visitors-now')?.textContent === String(visitors), expected.active.visitors, { timeout: 2_000 })
    await quiet.waitForFunction((pattern) => new RegExp(pattern).test(document.getElementById('ingest-rate')?.textContent ?? ''), NUMBER.source, { timeout: 2_000 })
    expect(await quiet.$$eval('#ingest-streams li span', (items) => items.map((item) => item.textContent))).toEqual(['click', 'log', 'notification'])
    await quiet.close()
  })

  it('asks for the key when none is given, and says so when the key is wrong', async () => {
    const fresh = await browser.newPage()
    await fresh.goto(`${eddy.url}/`)
    await fresh.waitForSelector('#key-form:not([hidden])')
    await fresh.fill('#key-input', 'not-a-read-key')
    await fresh.click('#key-form button')
    await fresh.waitForFunction(() => document.getElementById('connection')?.textContent?.includes('not a read key'), undefined, { timeout: 10_000 })
    await fresh.close()
  })
})
