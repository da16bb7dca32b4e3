/**
 * The load side of the freshness benchmarks (bench/freshness.ts, bench/marker-freshness.ts), a
 * child process: sends clickstream batches of 100 at a fixed rate for `seconds` (a parent may stop
 * it earlier), each with one marker pageview (a unique path under `/__probe/<prefix>-`, so two
 * measurements on one pipeline never see each other's markers), and reports to the parent when
 * each marker's batch got its 202, and at the end its own peak RSS.
 *
 *   freshness-sender.ts <baseUrl> <writeKey> <eventsPerSec> <seconds> [prefix]
 */
import { generateTraffic } from '../traffic/generator.ts'

const [baseUrl, writeKey, rateText, secondsText, prefix = 'run'] = process.argv.slice(2) as [string, string, string, string, string?]
const batchSize = 100
const batchesPerSecond = Number(rateText) / batchSize
const batches = batchesPerSecond * Number(secondsText)
const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
const pool = generateTraffic({ seed: 4, events: 20_000, startMs: Date.now() - 60_000, spanMs: 60_000, mix: { click: 1, log: 0, notification: 0 } }).map((e) => e.payload)

const started = performance.now()
const inFlight: Promise<void>[] = []
for (let batch = 0; batch < batches; batch++) {
  const wait = started + (batch / batchesPerSecond) * 1_000 - performance.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  const timestamp = new Date().toISOString()
  const events: Record<string, unknown>[] = Array.from({ length: batchSize - 1 }, (_, index) => ({ ...pool[(batch * batchSize + index) % pool.length]!, messageId: `${prefix}-${batch}-${index}`, timestamp }))
  const marker = `/__probe/${prefix}-${batch}`
  events.push({ type: 'page', anonymousId: `probe-${batch % 50}`, messageId: `${prefix}-probe-${batch}`, timestamp, properties: { url: `https://shop.example${marker}`, path: marker } })
  inFlight.push((async () => {
    const response = await fetch(`${baseUrl}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch: events }) })
    await response.arrayBuffer()
    if (response.status === 202) process.send!({ marker, acceptedAt: Date.now() })
  })())
  if (inFlight.length > 64) await inFlight.shift()
}
await Promise.all(inFlight)
process.send!({ done: true, seconds: (performance.now() - started) / 1_000, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })
