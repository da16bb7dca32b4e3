/**
 * The load side of the pipeline-capacity benchmark, a child process (a sender in the measured
 * process would take its event loop): sends `events` of the traffic model's mixed streams as fast
 * as the server answers, with `concurrency` requests in flight, and reports what it sent, how long
 * it took, the p99 of its requests (100 events each) and its own peak RSS.
 *
 *   pipeline-sender.ts <baseUrl> <writeKey> <events> <seed> <concurrency>
 */
import { generateTraffic } from '../traffic/generator.ts'
import { sendRequests, toRequests } from '../traffic/sender.ts'
import { percentile } from './stats.ts'

const [baseUrl, writeKey, eventsText, seedText, concurrencyText] = process.argv.slice(2) as [string, string, string, string, string]
// Recent event times over the last five minutes: live traffic, none of it late.
const span = 5 * 60_000
const traffic = generateTraffic({ seed: Number(seedText), events: Number(eventsText), startMs: Date.now() - span, spanMs: span })
const requests = toRequests(traffic, 100)
process.send!({ ready: true, events: traffic.length })
const started = performance.now()
const answered: number[] = []
const progress = await sendRequests(requests, { baseUrl, writeKey, batchSize: 100, concurrency: Number(concurrencyText), onAnswered: (ms) => answered.push(ms) })
const seconds = (performance.now() - started) / 1_000
process.send!({ done: true, ...progress, seconds, p99Ms: percentile(answered, 99), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }, () => process.disconnect())
