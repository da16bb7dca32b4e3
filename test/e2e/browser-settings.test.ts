import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

// The snippet's first-party names and the trusted proxies come from the environment, through the
// config, to the running routes (they once existed in the routes only).
let eddy: TestPipeline
beforeAll(async () => {
  eddy = await startTestPipeline({ EDDY_SNIPPET_PATH: '/js/site.js', EDDY_COLLECT_PATH: '/e', EDDY_TRUSTED_PROXIES: '127.0.0.1', EDDY_VISITOR_SECRET: 'a-secret-of-sixteen-or-more' })
})
afterAll(async () => {
  await eddy?.stop()
})

it('serves the snippet under its configured name, posting to the configured path, which accepts batches', async () => {
  const script = await fetch(`${eddy.url}/js/site.js`)
  expect(script.status).toBe(200)
  expect(await script.text()).toContain('"/e"')
  expect((await fetch(`${eddy.url}/js/site.mjs`)).status).toBe(200)
  const accepted = await fetch(`${eddy.url}/e`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'x-forwarded-for': '203.0.113.9' },
    body: JSON.stringify({ writeKey: TEST_WRITE_KEY, batch: [{ type: 'page', messageId: `m-${Date.now()}`, anonymousId: 'a1', properties: { url: 'https://shop.example/' } }] }),
  })
  expect(accepted.status).toBe(202)
})
