import { CAMPAIGNS, CLIENTS, COUNTRIES, ERROR_MESSAGES, HOSTS, INFO_MESSAGES, LOCALES, NOTIFICATION_TEMPLATES, PAGES, PROVIDERS, REFERRERS, SERVICES } from './catalog.ts'
import { SeededRandom, ZipfSampler } from './random.ts'

export type Stream = 'click' | 'log' | 'notification'

/** One event as a client sends it (Segment call, log line, notification event), with its time. */
export interface GeneratedEvent {
  readonly stream: Stream
  readonly ts: number
  readonly payload: Record<string, unknown>
}

export interface TrafficOptions {
  readonly seed: number
  /** Event times fall in [startMs, startMs + spanMs). */
  readonly startMs: number
  readonly spanMs: number
  /** Roughly how many events to make (sessions and lifecycles are kept whole). */
  readonly events: number
  /** Share of each stream; defaults to 60 % clicks, 30 % logs, 10 % notifications. */
  readonly mix?: Readonly<Record<Stream, number>>
  /**
   * Starts every anonymous id (`anon-` by default, then the visitor's number): calls that stand for
   * successive stretches of one site's traffic give each its own visitors, as new ones keep coming.
   */
  readonly visitorPrefix?: string
}

const pages = new ZipfSampler(PAGES.length, 1.1)
const referrers = new ZipfSampler(REFERRERS.length, 1.3)

/**
 * Deterministic, realistic traffic: visitor sessions over Zipf-distributed pages and referrers with
 * a device mix; log lines with bursts of errors; notification lifecycles with provider latencies
 * and failures. Sorted by event time.
 */
export function generateTraffic(options: TrafficOptions): GeneratedEvent[] {
  const random = new SeededRandom(options.seed)
  const mix = options.mix ?? { click: 0.6, log: 0.3, notification: 0.1 }
  const events: GeneratedEvent[] = []
  const target = { click: options.events * mix.click, log: options.events * mix.log, notification: options.events * mix.notification }
  const visitors = Math.max(10, Math.round(target.click / 6))
  const counts = { click: 0, log: 0, notification: 0 }
  const within = (ts: number) => Math.min(options.startMs + options.spanMs - 1, Math.max(options.startMs, Math.round(ts)))

  while (counts.click < target.click) {
    const session = visitorSession(random, `${options.visitorPrefix ?? 'anon-'}${random.integer(0, visitors - 1).toString(36)}`, options.startMs + random.next() * options.spanMs, within)
    events.push(...session)
    counts.click += session.length
  }
  while (counts.log < target.log) {
    const burst = logBurst(random, options.startMs + random.next() * options.spanMs, within)
    events.push(...burst)
    counts.log += burst.length
  }
  while (counts.notification < target.notification) {
    const lifecycle = notificationLifecycle(random, options.startMs + random.next() * options.spanMs, within)
    events.push(...lifecycle)
    counts.notification += lifecycle.length
  }
  return events.sort((a, b) => a.ts - b.ts)
}

function visitorSession(random: SeededRandom, anonymousId: string, start: number, within: (ts: number) => number): GeneratedEvent[] {
  const [userAgent, screen] = random.weighted(CLIENTS.map(([ua, size, weight]) => [[ua, size] as const, weight] as const))
  const locale = random.weighted(LOCALES)
  const sessionId = random.uuid()
  const direct = random.chance(0.35)
  const referrer = direct ? '' : REFERRERS[referrers.sample(random)]!
  const campaign = random.chance(0.15) ? random.pick(CAMPAIGNS) : undefined
  const length = 1 + Math.min(11, Math.floor(random.exponential(2.2)))
  const [width, height] = screen ? screen.split('x').map(Number) : [undefined, undefined]
  const events: GeneratedEvent[] = []
  let ts = start
  let previous = referrer
  for (let step = 0; step < length; step++) {
    const path = PAGES[pages.sample(random)]!
    const query = step === 0 && campaign ? `?utm_source=${campaign.source}&utm_medium=${campaign.medium}&utm_campaign=${campaign.campaign}` : ''
    const url = `https://shop.example${path}${query}`
    const time = within(ts)
    events.push({
      stream: 'click',
      ts: time,
      payload: {
        type: 'page',
        messageId: random.uuid(),
        anonymousId,
        timestamp: new Date(time).toISOString(),
        properties: { url, path, referrer: previous, title: titleOf(path) },
        context: { userAgent, locale, sessionId, ...(width ? { screen: { width, height } } : {}), location: { country: COUNTRIES[locale] } },
      },
    })
    if (random.chance(0.12)) {
      const name = random.pick(['Added to Cart', 'Signed Up', 'Started Checkout', 'Searched'])
      events.push({
        stream: 'click',
        ts: within(ts + 1_500),
        payload: {
          type: 'track', event: name, messageId: random.uuid(), anonymousId, timestamp: new Date(within(ts + 1_500)).toISOString(),
          properties: { path, value: String(random.integer(5, 300)) }, context: { userAgent, locale, sessionId, page: { url, path } },
        },
      })
    }
    previous = url
    ts += random.exponential(45_000)
  }
  return events
}

function logBurst(random: SeededRandom, start: number, within: (ts: number) => number): GeneratedEvent[] {
  const service = random.pick(SERVICES)
  const spike = random.chance(0.08)
  const lines = spike ? random.integer(30, 80) : random.integer(3, 20)
  const events: GeneratedEvent[] = []
  let ts = start
  for (let index = 0; index < lines; index++) {
    const level = spike ? random.weighted([['error', 70], ['warn', 20], ['info', 10]] as const) : random.weighted([['info', 78], ['debug', 10], ['warn', 8], ['error', 4]] as const)
    const template = level === 'error' ? random.pick(ERROR_MESSAGES) : random.pick(INFO_MESSAGES)
    const time = within(ts)
    events.push({
      stream: 'log',
      ts: time,
      payload: {
        id: random.uuid(),
        timestamp: new Date(time).toISOString(),
        service,
        host: random.pick(HOSTS),
        level,
        message: fill(template, random),
        trace_id: random.uuid().replaceAll('-', ''),
        attributes: { region: random.pick(['eu-west', 'us-east']) },
      },
    })
    ts += random.exponential(spike ? 200 : 2_000)
  }
  return events
}

function notificationLifecycle(random: SeededRandom, start: number, within: (ts: number) => number): GeneratedEvent[] {
  const channel = random.weighted([['email', 55], ['push', 25], ['sms', 12], ['in_app', 5], ['webhook', 3]] as const)
  const [provider, failureRate] = random.pick(PROVIDERS[channel] as ReadonlyArray<readonly [string, number]>)
  const base = { notification_id: `n-${random.uuid()}`, channel, provider, template: random.pick(NOTIFICATION_TEMPLATES), user_id: `user-${random.integer(1, 5_000)}` }
  const events: GeneratedEvent[] = []
  let ts = start
  const emit = (status: string, extra: Record<string, unknown> = {}) => {
    const time = within(ts)
    events.push({ stream: 'notification', ts: time, payload: { ...base, status, timestamp: new Date(time).toISOString(), ...extra } })
  }
  emit('queued')
  ts += random.logNormal(300, 0.6)
  emit('sent')
  if (random.chance(failureRate * 3)) {
    ts += random.logNormal(2_000, 0.8)
    const bounced = channel === 'email' && random.chance(0.6)
    emit(bounced ? 'bounced' : 'failed', { error_code: bounced ? '550' : random.pick(['30003', 'timeout', 'invalid_token']), error_message: bounced ? 'mailbox unavailable' : 'provider rejected the message' })
    return events
  }
  if (random.chance(0.05)) return events // sent but never delivered: the lifecycle job's timeout
  ts += random.logNormal(channel === 'email' ? 4_000 : 1_200, 0.9)
  emit('delivered')
  if (random.chance(channel === 'email' ? 0.35 : 0.5)) {
    ts += random.logNormal(600_000, 1.2)
    emit('opened')
    if (random.chance(0.3)) {
      ts += random.logNormal(20_000, 1)
      emit('clicked')
    }
  }
  return events
}

function fill(template: string, random: SeededRandom): string {
  return template
    .replaceAll('{n}', () => String(random.integer(1, 9_999)))
    .replaceAll('{ms}', () => String(random.integer(2, 2_500)))
    .replaceAll('{id}', () => String(random.integer(1, 99_999)))
    .replaceAll('{uuid}', () => random.uuid())
    .replaceAll('{word}', () => random.pick(['grinder', 'beans', 'kettle', 'filter', 'espresso']))
}

function titleOf(path: string): string {
  const last = path.split('/').filter(Boolean).at(-1) ?? 'home'
  return last.replaceAll('-', ' ').replace(/^\w/, (c) => c.toUpperCase())
}
