/**
 * The load side of the freshness benchmark, a child process: sends clickstream batches at a
 * fixed rate, each with one marker pageview (a unique path), and reports to the parent when each
 * marker's batch got its 202, and at the end its own peak RSS.
 */
import { generateTraffic } from '../traffic/generator.ts'

const [baseUrl, writeKey, rateText, secondsText] = process.argv.slice(2) as [string, string, string, string]
const rate = Number(rateText)
const seconds = Number(secondsText)
const batchSize = 100
const batchesPerSecond = rate / batchSize
const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
const pool = generateTraffic({ seed: 4, events: 20_000, startMs: Date.now() - 60_000, spanMs: 60_000, mix: { click: 1, log: 0, notification: 0 } }).map((e) => e.payload)

const started = performance.now()
const inFlight: Promise<void>[] = []
for (let batch = 0; batch < batchesPerSecond * seconds; batch++) {
  const due = started + (batch / batchesPerSecond) * 1_000
  const wait = due - performance.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  const now = Date.now()
  const events: Record<string, unknown>[] = Array.from({ length: batchSize - 1 }, (_, index) => ({ ...pool[(batch * batchSize + index) % pool.length]!, messageId: `b${batch}-${index}`, timestamp: new Date(now).toISOString() }))
  const marker = `/__probe/${batch}`
  events.push({ type: 'page', anonymousId: `probe-${batch % 50}`, messageId: `probe-${batch}`, timestamp: new Date(now).toISOString(), properties: { url: `https://shop.example${marker}`, path: marker } })
  inFlight.push((async () => {
    const response = await fetch(`${baseUrl}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch: events }) })
    await response.arrayBuffer()
    if (response.status === 202) process.send!({ marker, acceptedAt: Date.now() })
  })())
  if (inFlight.length > 64) await inFlight.shift()
}
await Promise.all(inFlight)
process.send!({ done: true, seconds: (performance.now() - started) / 1_000, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })
