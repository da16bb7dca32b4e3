import { generateTraffic } from '../../traffic/generator.ts'
import { progressLine } from '../../traffic/progress.ts'
import { sendRequests, toRequests } from '../../traffic/sender.ts'
import type { Command } from '../command.ts'

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Send realistic demo traffic to a running Eddy',
  developmentProject: true,
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    events: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '2000' },
    minutes: { type: 'string', default: '30' },
    seed: { type: 'string', default: '42' },
  },
  help: `Usage: eddy demo [--url URL] [--key WRITE_KEY] [--events N] [--rate N] [--minutes N] [--seed N]

Sends realistic traffic to a running Eddy: visitor sessions over popular and rare pages with
referrers, campaigns and a device mix; log lines with bursts of errors; notification lifecycles
(queued → sent → delivered → opened → clicked, with bounces and failures). Event times spread
over the last --minutes, so dashboards fill at once. The same --seed sends the same traffic.

  --url      Eddy's base URL (default http://127.0.0.1:PORT)
  --key      a write key (default: the development project's)
  --events   about how many events (default 20000)
  --rate     at most this many events per second (default 2000)
  --minutes  spread event times over this many past minutes (default 30)
  --seed     traffic seed (default 42)`,
  async run({ config, values, print }) {
    const baseUrl = (values.url as string | undefined) ?? `http://127.0.0.1:${config.port}`
    const writeKey = (values.key as string | undefined) ?? config.projects[0]?.writeKeys[0]
    if (!writeKey) throw new Error('no write key: pass --key or configure a project')
    const count = positive(values.events, '--events')
    const minutes = positive(values.minutes, '--minutes')
    const now = Date.now()
    const events = generateTraffic({ seed: positive(values.seed, '--seed'), events: count, startMs: now - minutes * 60_000, spanMs: minutes * 60_000 })
    const requests = toRequests(events, 50)
    const progress = progressLine('demo')
    const result = await sendRequests(requests, {
      baseUrl,
      writeKey,
      batchSize: 50,
      concurrency: 4,
      ratePerSecond: positive(values.rate, '--rate'),
      onProgress: (p) => progress.update(p.sent, p.total, p.retries ? `(${p.retries} retries)` : ''),
    })
    progress.done(`${result.accepted.toLocaleString('en-US')} events accepted, ${result.rejected} rejected, ${result.retries} retries`)
    print(`Open ${baseUrl}/api/v1/events/count?stream=click&from=${new Date(now - minutes * 60_000).toISOString()}&to=${new Date(now + 60_000).toISOString()} with your read key.`)
  },
}

function positive(value: unknown, name: string): number {
  const number = Number(value)
  if (!Number.isFinite(number) || number <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(value)}`)
  return number
}
