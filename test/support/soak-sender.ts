/**
 * The load side of the soak, a child process so that sending does not share the event loop of
 * the pipeline it measures (in one process a request waits behind the processors' work, and the
 * offered rate is never reached). Sends the soak's traffic in chunks of `chunkSeconds`, starting
 * a chunk only while `seconds` have not passed, and reports the totals and how many chunks went out;
 * the parent regenerates exactly those chunks (soakChunk, same seeds) to count what was stored.
 *
 *   soak-sender.ts <baseUrl> <writeKey> <rate> <seconds> <chunkSeconds> <startMs>
 */
import { sendRequests, toRequests } from '../../traffic/sender.ts'
import { soakChunk } from './soak-traffic.ts'

const [baseUrl, writeKey, rateText, secondsText, chunkText, startText] = process.argv.slice(2) as [string, string, string, string, string, string]
const rate = Number(rateText)
const seconds = Number(secondsText)
const chunkSeconds = Number(chunkText)
const startMs = Number(startText)
const chunks = Math.ceil(seconds / chunkSeconds)
// Enough requests in flight that one request's latency does not cap the rate; sendRequests paces to it.
const concurrency = Math.max(4, Math.ceil(rate / 500))

const total = { sent: 0, accepted: 0, rejected: 0, retries: 0 }
let chunksSent = 0
const started = performance.now()
for (let index = 0; index < chunks && performance.now() - started < seconds * 1_000; index++, chunksSent++) {
  const progress = await sendRequests(toRequests(soakChunk({ index, rate, chunkSeconds, startMs }), 100), { baseUrl, writeKey, batchSize: 100, concurrency, ratePerSecond: rate })
  for (const key of Object.keys(total) as Array<keyof typeof total>) total[key] += progress[key]
}
process.send!({ ...total, chunksSent, seconds: (performance.now() - started) / 1_000 }, () => process.disconnect())
