import { SeededRandom } from '../../traffic/random.ts'
import type { LogEvent, NotificationEvent } from '../../schemas/types.generated.ts'

/**
 * A deterministic corpus for the search contract and benchmark: two projects, lines that cross a
 * month boundary (two Elasticsearch indices), events sharing a timestamp (the event-id tie-break),
 * and messages that stress the token rule: separators, underscores, dots, non-ASCII, case.
 */
export const CORPUS_START_MS = Date.UTC(2026, 9, 31, 23, 58, 0) // 2026-10-31T23:58Z: months change early on
export const CORPUS_PROJECTS = ['alpha', 'beta'] as const

const SERVICES = ['checkout', 'api', 'web', 'billing-worker', 'billing-api']
const HOSTS = ['web-1', 'web-2', 'db_1']
const LEVELS = ['debug', 'info', 'info', 'info', 'warn', 'error', 'fatal'] as const
const REGIONS = ['eu', 'us', 'ap']
const TIERS = ['gold', 'free']

function messageOf(random: SeededRandom): string {
  const n = random.integer(1, 400)
  return random.pick([
    () => `Connection refused to 10.0.0.${n % 256}:5432`,
    () => `user_id=${n} logged in`,
    () => `Timeout after ${n % 60}s calling payments.example.com`,
    () => `café crème ready for order ${n}`,
    () => `GET /api/v1/orders/${n} 200 ${n % 97}ms`,
    () => `disk_full on /var/lib/data${n % 3}`,
    () => `error: connection reset by peer (attempt ${n % 5})`,
    () => `Refused: CONNECTION limit ${n} reached`,
    () => `payment ${n} captured; timeout=false`,
    () => `Ünïcode Straße ${n} überprüft`,
  ])()
}

export function logCorpus(count: number, seed = 7): LogEvent[] {
  return [...generateLogs(count, seed)]
}

/** The same lines one at a time, for corpora too big to hold (the search benchmark's million). */
export function* generateLogs(count: number, seed = 7): Generator<LogEvent> {
  const random = new SeededRandom(seed)
  let ts = CORPUS_START_MS
  for (let index = 0; index < count; index++) {
    // One line in five shares the previous line's millisecond.
    if (!random.chance(0.2)) ts += random.integer(1, 2_000)
    const attributes: Record<string, string> = { region: random.pick(REGIONS) }
    if (random.chance(0.5)) attributes.tier = random.pick(TIERS)
    yield {
      event_id: random.uuid(),
      project_id: random.chance(0.8) ? 'alpha' : 'beta',
      ts,
      received_at: ts + random.integer(0, 500),
      service: random.pick(SERVICES),
      host: random.pick(HOSTS),
      level: random.pick(LEVELS),
      message: messageOf(random),
      logger: random.chance(0.5) ? 'app.http' : null,
      trace_id: random.chance(0.3) ? random.uuid().replaceAll('-', '') : null,
      span_id: null,
      attributes,
    }
  }
}

export function notificationCorpus(count: number, seed = 11): NotificationEvent[] {
  const random = new SeededRandom(seed)
  const events: NotificationEvent[] = []
  let ts = CORPUS_START_MS
  for (let index = 0; index < count; index++) {
    if (!random.chance(0.2)) ts += random.integer(1, 5_000)
    const failed = random.chance(0.3)
    events.push({
      event_id: random.uuid(),
      project_id: random.chance(0.8) ? 'alpha' : 'beta',
      ts,
      received_at: ts,
      notification_id: `n-${random.integer(1, count / 3)}`,
      channel: random.pick(['email', 'sms', 'push'] as const),
      provider: random.pick(['sendgrid', 'twilio', 'ses']),
      template: random.pick(['welcome', 'reset-password', 'receipt']),
      user_id: random.chance(0.7) ? `u${random.integer(1, 50)}` : null,
      status: failed ? random.pick(['failed', 'bounced'] as const) : random.pick(['sent', 'delivered', 'opened'] as const),
      error_code: failed ? random.pick(['550', '421', 'invalid_number']) : null,
      error_message: failed ? random.pick(['Mailbox unavailable', 'Rate limited: try later', 'Invalid phone number +1-555', 'mailbox FULL']) : null,
      attributes: random.chance(0.5) ? { campaign: random.pick(['spring', 'fall']) } : {},
    })
  }
  return events
}
