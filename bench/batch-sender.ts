/**
 * The ingest side of the reprocess bench's import figure, a child process (a sender in the
 * measured process would take its event loop): reads the NDJSON file of Segment calls the import
 * side imports, and sends the same events to /v1/batch at batch 100 with `concurrency` requests in
 * flight, as fast as they are acknowledged. Reports what was accepted and how long it took.
 *
 *   batch-sender.ts <baseUrl> <writeKey> <file> <concurrency>
 */
import { readFileSync } from 'node:fs'
import type { GeneratedEvent } from '../traffic/generator.ts'
import { sendRequests, toRequests } from '../traffic/sender.ts'

const [baseUrl, writeKey, file, concurrencyText] = process.argv.slice(2) as [string, string, string, string]
const events = readFileSync(file, 'utf8').split('\n').filter((line) => line.length > 0)
  .map((line): GeneratedEvent => ({ stream: 'click', ts: 0, payload: JSON.parse(line) as Record<string, unknown> }))
const requests = toRequests(events, 100)
const started = performance.now()
const progress = await sendRequests(requests, { baseUrl, writeKey, batchSize: 100, concurrency: Number(concurrencyText) })
process.send!({ done: true, ...progress, seconds: (performance.now() - started) / 1_000, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }, () => process.disconnect())
