/**
 * The load side of the api benchmark, a child process so the server keeps its own core. Prints
 * one JSON line with the result and its own peak RSS (peakRssMb).
 *   http <url> <key> <seconds> <connections> <rate, 0 = as fast as possible>
 *   ws   <url> <key> <clients> <seconds>
 */
import autocannon from 'autocannon'
import WebSocket from 'ws'
import { percentile, round } from './stats.ts'

const [mode, url, key, ...rest] = process.argv.slice(2) as [string, string, string, ...string[]]

if (mode === 'http') {
  const [seconds, connections, rate] = rest.map(Number) as [number, number, number]
  const result = await autocannon({
    url,
    duration: seconds,
    connections,
    ...(rate > 0 ? { overallRate: rate } : {}),
    headers: { authorization: `Bearer ${key}` },
  })
  process.stdout.write(`${JSON.stringify({
    requestsPerSec: round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    peakRssMb: peakRssMb(),
  })}\n`)
} else {
  const [clients, seconds] = rest.map(Number) as [number, number]
  const lags: number[] = []
  let closed = 0
  let messages = 0
  const sockets: WebSocket[] = []
  // Connect in waves so the upgrade burst itself does not count as fan-out lag.
  for (let index = 0; index < clients; index++) {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/live`, { headers: { authorization: `Bearer ${key}` } })
    socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', channel: 'pageviews' })))
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; at?: number }
      if (message.type !== 'data' || message.at === undefined) return
      messages++
      lags.push(Date.now() - message.at)
    })
    socket.on('close', () => closed++)
    socket.on('error', () => undefined)
    sockets.push(socket)
    if (index % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  lags.length = 0
  messages = 0
  await new Promise((resolve) => setTimeout(resolve, seconds * 1_000))
  const connected = sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length
  for (const socket of sockets) socket.terminate()
  process.stdout.write(`${JSON.stringify({
    clients, connected, closedEarly: closed, seconds, messages,
    messagesPerClientPerSec: round(messages / clients / seconds),
    lagP50Ms: percentile(lags, 50), lagP99Ms: percentile(lags, 99), lagMaxMs: Math.max(...lags),
    peakRssMb: peakRssMb(),
  })}\n`)
}

function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024)
}
