import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LiveTestClient } from '../support/live-client.ts'
import { startTestPipeline, TEST_OPERATOR_KEY, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'

const BURST = 20
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`

/**
 * Key guessing from outside: each case comes from its own client address (X-Forwarded-For, which
 * the pipeline believes from 127.0.0.1 here), so one case's verdict does not reach another.
 */
describe('failed authentications are throttled per client address', () => {
  let eddy: TestPipeline
  beforeAll(async () => {
    eddy = await startTestPipeline({ EDDY_AUTH_FAILURE_BURST: String(BURST), EDDY_AUTH_FAILURE_PER_MINUTE: '10', EDDY_TRUSTED_PROXIES: '127.0.0.1' })
  })
  afterAll(async () => {
    await eddy?.stop()
  })

  const read = (address: string, key: string, path = '/api/v1/stats/aggregate?period=24h') =>
    fetch(`${eddy.url}${path}`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': address } })

  it('300 guessed read keys: the burst answers 401, the rest 429 with Retry-After, and then even the right key', async () => {
    const statuses: number[] = []
    let retryAfter: string | null = null
    for (let guess = 0; guess < 300; guess++) {
      const response = await read('198.51.100.1', `rk_guess_${guess.toString().padStart(8, '0')}`)
      statuses.push(response.status)
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after')
        const body = await response.json() as { code: string }
        expect(body.code).toBe('API_AUTH_THROTTLED')
      } else {
        await response.body?.cancel()
      }
    }
    expect(statuses.slice(0, BURST).every((status) => status === 401), statuses.join(" ")).toBe(true)
    expect(statuses.slice(BURST).every((status) => status === 429), statuses.join(" ")).toBe(true)
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    expect(Number(retryAfter)).toBeLessThanOrEqual(6)
    // The right key is refused too while the address is: a 200 would tell the guesser it won.
    expect((await read('198.51.100.1', TEST_READ_KEY)).status).toBe(429)
    expect((await read('198.51.100.1', TEST_OPERATOR_KEY, '/api/v1/pipeline/health')).status).toBe(429)
    // Other addresses, valid keys: never slowed.
    for (let request = 0; request < 30; request++) expect((await read('198.51.100.2', TEST_READ_KEY)).status).toBe(200)
    expect((await read('198.51.100.2', TEST_OPERATOR_KEY, '/api/v1/pipeline/health')).status).toBe(200)
  })

  it('counts the pipeline health route and the WebSocket with the api', async () => {
    for (let guess = 0; guess < BURST; guess++) expect((await read('198.51.100.3', `ok_guess_${guess}`, '/api/v1/pipeline/health')).status).toBe(401)
    expect((await read('198.51.100.3', `ok_guess_${BURST}`, '/api/v1/pipeline/health')).status).toBe(429)
    // The upgrade with a key is refused before upgrading, as a 401 would be …
    await expect(LiveTestClient.connect(eddy.url, { header: TEST_READ_KEY, headers: { 'x-forwarded-for': '198.51.100.3' } })).rejects.toMatchObject({ statusCode: 429 })
    // … and an auth message after it is closed with 4429 before its key is looked at.
    const late = await LiveTestClient.connect(eddy.url, { key: TEST_READ_KEY, headers: { 'x-forwarded-for': '198.51.100.3' } })
    expect(await late.closed).toMatchObject({ code: 4429 })

    // Wrong auth messages count like 401s.
    for (let guess = 0; guess < BURST; guess++) {
      const client = await LiveTestClient.connect(eddy.url, { key: `rk_guess_${guess}`, headers: { 'x-forwarded-for': '198.51.100.4' } })
      expect(await client.closed).toMatchObject({ code: 4401 })
    }
    const refused = await LiveTestClient.connect(eddy.url, { key: `rk_guess_${BURST}`, headers: { 'x-forwarded-for': '198.51.100.4' } })
    expect(await refused.closed).toMatchObject({ code: 4429 })
    expect((await read('198.51.100.4', TEST_READ_KEY)).status).toBe(429)
  })

  it('ingest: unknown write keys are throttled, a valid write key from the same address still gets in', async () => {
    const post = (key: string) => fetch(`${eddy.url}/v1/track`, {
      method: 'POST',
      headers: { authorization: basic(key), 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.5' },
      body: JSON.stringify({ anonymousId: 'throttle-visitor', event: 'Guessed' }),
    })
    for (let guess = 0; guess < BURST; guess++) expect((await post(`wk_guess_${guess}`)).status).toBe(401)
    const refused = await post(`wk_guess_${BURST}`)
    expect(refused.status).toBe(429)
    expect(((await refused.json()) as { code: string }).code).toBe('INGEST_AUTH_THROTTLED')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    // Write keys are public (in every page): a visitor behind the same address keeps being counted.
    expect((await post(TEST_WRITE_KEY)).status).toBe(202)
    expect((await post(`wk_guess_${BURST + 1}`)).status).toBe(429)
  })
})
