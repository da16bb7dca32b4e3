import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LiveTestClient } from '../../test/support/live-client.ts'
import { eventually, startTestPipeline, TEST_OPERATOR_KEY, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../../test/support/pipeline.ts'

const BETA_READ_KEY = 'test-read-key-b'

describe('pipeline health: a project sees its own traffic, an operator the whole pipeline', () => {
  let eddy: TestPipeline
  beforeAll(async () => {
    eddy = await startTestPipeline()
  })
  afterAll(async () => {
    await eddy?.stop()
  })

  const health = async (key: string) => {
    const response = await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${key}` } })
    return { status: response.status, body: await response.json() as Record<string, any> }
  }

  it("gives b's key nothing of a's traffic, on the REST route and on the live channel", async () => {
    const batch = Array.from({ length: 20 }, (_, index) => ({ type: 'page', anonymousId: `scope-${index}`, properties: { url: `https://alpha.example/p${index}` } }))
    const posted = await fetch(`${eddy.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    })
    expect(posted.status).toBe(202)

    // a sees its own clicks in its accepted rate …
    const alpha = await eventually(() => health(TEST_READ_KEY), (answer) => answer.body.ingest?.click > 0, 15_000)
    expect(alpha.status).toBe(200)
    expect(alpha.body).toMatchObject({ scope: 'project', project: 'alpha' })
    // … and b, asked while a's rate shows, sees only its own: no traffic, and no shared figure at all.
    const beta = await health(BETA_READ_KEY)
    expect(beta.status).toBe(200)
    expect(beta.body).toEqual({ scope: 'project', project: 'beta', ingest: { eventsPerSecond: 0, click: 0, log: 0, notification: 0 } })

    // The operator sees every topic's lag and every job partition (all tenants' volume).
    const operator = await health(TEST_OPERATOR_KEY)
    expect(operator.status).toBe(200)
    expect(operator.body).toMatchObject({ scope: 'pipeline' })
    expect(typeof operator.body.lag).toBe('number')
    expect(operator.body.consumers.length).toBeGreaterThan(0)
    expect(operator.body.jobs.length).toBeGreaterThan(0)
    expect(operator.body.ingestEventsPerSecond).toBeGreaterThan(0)

    const live = await LiveTestClient.connect(eddy.url, { key: BETA_READ_KEY })
    try {
      live.send({ type: 'subscribe', channel: 'health' })
      const frame = await live.waitFor((message) => message.type === 'data' && message.channel === 'health')
      expect(frame.data).toEqual({ available: true, scope: 'project', project: 'beta', ingest: { eventsPerSecond: 0, click: 0, log: 0, notification: 0 } })
    } finally {
      live.close()
    }
  })

  it('refuses write keys and unknown keys; an operator key is not a read key of any project', async () => {
    for (const key of [TEST_WRITE_KEY, 'not-a-key-at-all']) expect((await health(key)).status).toBe(401)
    const stats = await fetch(`${eddy.url}/api/v1/stats/aggregate?period=24h`, { headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}` } })
    expect(stats.status).toBe(401)
  })
})
