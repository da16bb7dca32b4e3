import { renderBars, RollingChart } from './charts.ts'
import { LiveSocket, type LiveMessage } from './live-socket.ts'

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']
const OUTCOMES = [['delivered', '#16a34a'], ['opened', '#2563eb'], ['clicked', '#7c3aed'], ['failed', '#dc2626'], ['bounced', '#ea580c']] as const
const TAIL_ROWS = 50

/** The read key: `#key=…` (then removed from the address bar), or what this tab was given before, or the form. */
function readKey(): string | undefined {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('key')
  if (fromFragment) {
    sessionStorage.setItem('eddy-read-key', fromFragment)
    history.replaceState(null, '', location.pathname + location.search)
    return fromFragment
  }
  return sessionStorage.getItem('eddy-read-key') ?? undefined
}

function start(key: string): void {
  $('panels').hidden = false
  const pageviews = new RollingChart($('pageviews-chart'), [{ label: 'pageviews', stroke: '#2563eb' }, { label: 'events', stroke: '#94a3b8' }], 180)
  const visitors = new RollingChart($('visitors-chart'), [{ label: 'visitors', stroke: '#0891b2' }], 120)
  // Seconds without logs have no rate: the line spans them, and each second with logs is marked.
  const errors = new RollingChart($('errors-chart'), [{ label: 'error rate', stroke: '#dc2626', points: true, spanGaps: true }], 120, (value) => `${Math.round(value * 100)}%`)
  const notifications = new RollingChart($('notifications-chart'), OUTCOMES.map(([label, stroke]) => ({ label, stroke })), 140)
  const levelSeconds: Array<Record<string, number>> = []
  let errorsSeen = 0
  let logsSeen = 0

  const onPageviews = (seq: number, data: any) => {
    const events = data.events.click + data.events.log + data.events.notification
    pageviews.push(seq, [data.pageviews, events])
    $('pageviews-now').textContent = String(data.pageviews)
    $('pageviews-minute').textContent = pageviews.sum(0).toLocaleString()
    $('events-minute').textContent = pageviews.sum(1).toLocaleString()
  }
  const onLogs = (seq: number, data: any) => {
    errors.push(seq, [data.errorRate])
    levelSeconds.push(data.levels)
    if (levelSeconds.length > 60) levelSeconds.shift()
    const totals = Object.fromEntries(LEVELS.map((level) => [level, levelSeconds.reduce((sum, second) => sum + (second[level] ?? 0), 0)]))
    logsSeen = LEVELS.reduce((sum, level) => sum + totals[level]!, 0)
    errorsSeen = totals.error! + totals.fatal!
    $('error-rate').textContent = `${(logsSeen === 0 ? 0 : (errorsSeen / logsSeen) * 100).toFixed(1)}%`
    $('error-rate-of').textContent = `error + fatal of ${logsSeen.toLocaleString()} lines, last 60 s`
    renderBars($('log-levels'), LEVELS.map((level) => ({ label: level, value: totals[level]! })).filter((row) => row.value > 0))
  }
  const onNotifications = (seq: number, data: any) => notifications.push(seq, OUTCOMES.map(([status]) => data.statuses[status]))
  const handlers: Record<string, (seq: number, data: any) => void> = { pageviews: onPageviews, logs: onLogs, notifications: onNotifications }

  // The REST answers fill these cards until the live feed's first figures arrive.
  const live = { visitors: false, health: false }
  const onMessage = (message: LiveMessage) => {
    const handler = message.channel ? handlers[message.channel] : undefined
    if (message.type === 'hello') $('project').textContent = `project ${String(message.project)}`
    else if (message.type === 'history' && handler) for (const point of message.points ?? []) handler(point.seq, point.data)
    else if (message.type === 'data' && handler) handler(message.seq!, message.data)
    else if (message.type === 'data' && message.channel === 'visitors') {
      live.visitors = true
      $('visitors-now').textContent = String(message.data.visitors ?? '–')
      visitors.push(message.seq!, [message.data.visitors])
    } else if (message.type === 'data' && message.channel === 'health') {
      live.health = true
      showHealth(message.data)
    }
    else if (message.type === 'data' && message.channel === 'tail') showTail(message.data.events)
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  new LiveSocket(`${scheme}//${location.host}/api/v1/live`, key,
    ['pageviews', 'visitors', 'logs', 'notifications', 'health', 'tail'].map((channel) => ({ channel })),
    onMessage,
    (state, detail) => {
      const element = $('connection')
      element.dataset.state = state
      element.textContent = detail ? `${state}: ${detail}` : state
      if (detail?.includes('read key')) forgetKey()
    })
  void firstFigures(key, live, visitors)
  void refresh(key)
  setInterval(() => void refresh(key), 10_000)
}

/** Visitors and ingest from the REST api at once, so the cards do not wait for the first live second. */
async function firstFigures(key: string, live: { visitors: boolean; health: boolean }, visitors: RollingChart): Promise<void> {
  const [realtime, health] = await Promise.allSettled([get(key, '/api/v1/stats/realtime?minutes=1'), get(key, '/api/v1/pipeline/health')])
  if (realtime.status === 'fulfilled' && !live.visitors) {
    $('visitors-now').textContent = String(realtime.value.active.visitors)
    visitors.push(Date.now(), [realtime.value.active.visitors])
  }
  if (health.status === 'fulfilled' && !live.health) showHealth({ available: true, ...health.value })
}

async function get(key: string, path: string): Promise<any> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${key}` } })
  if (!response.ok) throw new Error(`${path}: ${response.status}`)
  return response.json()
}

/** A read key sees its project's own traffic (the shared topics' lag is the operator's, docs/api.md). */
function showHealth(data: any): void {
  const ingest = data.available ? data.ingest : undefined
  if (!ingest) {
    $('ingest-rate').textContent = 'n/a'
    return
  }
  const rate = (value: number) => (value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString())
  $('ingest-rate').textContent = rate(ingest.eventsPerSecond)
  renderBars($('ingest-streams'), (['click', 'log', 'notification'] as const).map((stream) => ({ label: stream, value: ingest[stream], display: `${rate(ingest[stream])}/s` })))
}

function showTail(events: any[]): void {
  const list = $('tail')
  for (const event of events) {
    const item = document.createElement('li')
    const time = new Date(event.ts).toLocaleTimeString()
    const text = event.stream === 'click' ? `${event.type} ${event.path} ${event.referrer ? `← ${event.referrer}` : ''} ${event.country ?? ''} ${event.browser}`
      : event.stream === 'log' ? `${event.level} ${event.service}: ${event.message}`
        : `${event.channel} ${event.status} ${event.provider} ${event.template}`
    item.className = event.level ?? event.status ?? event.stream
    item.textContent = `${time} ${text}`
    list.prepend(item)
  }
  while (list.children.length > TAIL_ROWS) list.lastElementChild!.remove()
}

/** What the live channels do not carry comes from the REST api (cached there). */
async function refresh(key: string): Promise<void> {
  const breakdown = (property: string) => get(key, `/api/v1/stats/breakdown?period=realtime&property=${property}&metrics=pageviews,visitors&limit=8`)
  const [pages, referrers, funnel] = await Promise.allSettled([breakdown('path'), breakdown('referrer'), get(key, '/api/v1/notifications/funnel?period=today')])
  if (pages.status === 'fulfilled') renderBars($('top-pages'), pages.value.results.map((row: any) => ({ label: row.value || '(none)', value: row.pageviews })))
  if (referrers.status === 'fulfilled') renderBars($('referrers'), referrers.value.results.map((row: any) => ({ label: row.value || 'direct', value: row.visitors })))
  if (funnel.status === 'fulfilled') {
    const row = funnel.value.results[0] ?? { sent: 0, delivered: 0, opened: 0, clicked: 0, failed: 0 }
    renderBars($('funnel'), ['sent', 'delivered', 'opened', 'clicked', 'failed'].map((stage) => ({ label: stage, value: row[stage] })))
  }
}

function forgetKey(): void {
  sessionStorage.removeItem('eddy-read-key')
}

const key = readKey()
if (key) start(key)
else {
  const form = $<HTMLFormElement>('key-form')
  form.hidden = false
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const value = $<HTMLInputElement>('key-input').value.trim()
    sessionStorage.setItem('eddy-read-key', value)
    form.hidden = true
    start(value)
  })
}
