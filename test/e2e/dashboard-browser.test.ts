import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeWithChromium, launchChromium } from '../support/browser.ts'
import { startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts')
const basic = `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`

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
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 } })
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`) })
    await page.goto(`${eddy.url}/#key=${TEST_READ_KEY}`)
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
    await page.waitForFunction(() => Number(document.getElementById('pageviews-chart')?.dataset.points) > 0, undefined, { timeout: 5_000 })
    await page.waitForFunction(() => document.getElementById('error-rate')?.textContent === '25.0%', undefined, { timeout: 10_000 })
    await page.waitForFunction(() => Number(document.getElementById('notifications-chart')?.dataset.points) > 0, undefined, { timeout: 10_000 })
    expect(await page.$$eval('#log-levels li span', (items) => items.map((item) => item.textContent))).toEqual(['info', 'warn', 'error'])
    await page.waitForFunction(() => document.querySelectorAll('#tail li').length >= 10, undefined, { timeout: 10_000 })
    expect(await page.$$eval('canvas', (canvases) => canvases.length)).toBeGreaterThanOrEqual(4)

    // From ClickHouse through the REST api, refreshed every 10 s.
    await page.waitForFunction(() => document.querySelector('#top-pages li span')?.textContent === '/pricing', undefined, { timeout: 30_000 })
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#referrers li span')).some((item) => item.textContent === 'news.ycombinator.com'), undefined, { timeout: 15_000 })
    await page.waitForFunction(() => document.querySelector('#funnel li b')?.textContent === '1', undefined, { timeout: 15_000 })
    await page.waitForFunction(() => document.getElementById('lag')?.textContent !== '–', undefined, { timeout: 5_000 })
    await page.waitForFunction(() => document.getElementById('visitors-now')?.textContent !== '–', undefined, { timeout: 5_000 })

    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })
    expect(problems).toEqual([])
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
