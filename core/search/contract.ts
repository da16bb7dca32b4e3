/**
 * The SearchStore contract, against port.ts and the query language only. Every store must return
 * exactly what the query language's own evaluator (matchesDocument) finds in the corpus, in
 * (ts, event id) order, page by page without gaps or repeats. Both backends pass it, so both give
 * the same answers.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import type { LogEvent, NotificationEvent } from '../../schemas/types.generated.ts'
import { HIT_FIELDS } from './fields.ts'
import type { SearchHit, SearchOrder, SearchPosition, SearchStore, SearchStream } from './port.ts'
import { TOTAL_LIMIT } from './port.ts'
import { matchesDocument, parseSearchQuery, SEARCH_SCHEMAS } from './query/index.ts'
import { CORPUS_START_MS, logCorpus, notificationCorpus } from './test-corpus.ts'

export interface SearchStoreUnderTest {
  readonly store: SearchStore
  /** Writes the events so that a search sees them (indexed and refreshed, or inserted). */
  load(logs: readonly LogEvent[], notifications: readonly NotificationEvent[]): Promise<void>
}

type AnyEvent = LogEvent | NotificationEvent

const CORPUS = logCorpus(2_500)
// Event ids are unique per project only (clients may send their own UUIDs, the same ones to two
// projects): these lines exist in both, and each project must find its own.
const LOGS = [...CORPUS, ...CORPUS.slice(0, 40).map((event) => ({ ...event, project_id: event.project_id === 'alpha' ? 'beta' : 'alpha' }))]
const NOTIFICATIONS = notificationCorpus(800)

export const LOG_QUERIES = [
  '',
  'timeout',
  'TIMEOUT',
  '"connection refused"',
  'connection refused',
  'refused -"connection refused"',
  'level:error',
  'level:error service:checkout',
  'service:billing*',
  '-level:info',
  'attributes.region:eu',
  '-attributes.tier:gold',
  'attributes.tier:g*',
  '(level:warn OR level:error) timeout',
  'café',
  'straße',
  'disk_full',
  '"refused to 10"',
  'host:web-1 OR host:db_1',
  'NOT host:web-1 AND refused',
  'message:"payments example com"',
  'logger:app.http user_id',
]

export const NOTIFICATION_QUERIES = ['', 'status:failed', 'mailbox', '"rate limited"', 'channel:sms -error_code:550', 'attributes.campaign:spring provider:twilio', 'user_id:u1*']

function documentOf(stream: SearchStream, event: AnyEvent): Record<string, unknown> {
  const source = event as unknown as Record<string, unknown>
  const document: Record<string, unknown> = { attributes: event.attributes }
  for (const field of HIT_FIELDS[stream]) document[field] = source[field] ?? ''
  return document
}

function compare(order: SearchOrder) {
  return (left: AnyEvent, right: AnyEvent) => {
    const ascending = left.ts - right.ts || (left.event_id < right.event_id ? -1 : left.event_id > right.event_id ? 1 : 0)
    return order === 'asc' ? ascending : -ascending
  }
}

export function searchStoreContract(name: string, make: () => Promise<SearchStoreUnderTest>): void {
  describe(`SearchStore contract: ${name}`, () => {
    let subject: SearchStoreUnderTest
    // Cuts lines off both ends, and spans the change of month (two Elasticsearch indices).
    const fromMs = CORPUS_START_MS + 60_000
    const toMs = CORPUS.at(-1)!.ts - 60_000

    beforeAll(async () => {
      subject = await make()
      // Loaded twice: a replay must not add a single hit.
      await subject.load(LOGS, NOTIFICATIONS)
      await subject.load(LOGS.slice(0, 500), NOTIFICATIONS.slice(0, 100))
    }, 120_000)

    const expected = (stream: SearchStream, events: readonly AnyEvent[], text: string, order: SearchOrder, projectId: string) => {
      const parsed = parseSearchQuery(text, SEARCH_SCHEMAS[stream])
      if (!parsed.ok) throw new Error(`${text}: ${parsed.reason}`)
      return {
        query: parsed.query,
        events: events
          .filter((event) => event.project_id === projectId && event.ts >= fromMs && event.ts < toMs && matchesDocument(parsed.query, SEARCH_SCHEMAS[stream], documentOf(stream, event)))
          .sort(compare(order)),
      }
    }

    const everyPage = async (stream: SearchStream, text: string, order: SearchOrder, size: number, projectId = 'alpha') => {
      const { query, events } = expected(stream, stream === 'log' ? LOGS : NOTIFICATIONS, text, order, projectId)
      const hits: SearchHit[] = []
      let after: SearchPosition | undefined
      let total
      for (let pages = 0; pages < 200; pages++) {
        const result = await subject.store.search({ stream, projectId, query, fromMs, toMs, order, size, ...(after ? { after } : {}) })
        total ??= result.total
        expect(result.hits.length).toBeLessThanOrEqual(size)
        hits.push(...result.hits)
        if (!result.next) break
        after = result.next
      }
      return { hits, events, total }
    }

    it.each(LOG_QUERIES)('log search %j: every match, in order, across pages', async (text) => {
      const { hits, events, total } = await everyPage('log', text, 'desc', 97)
      expect(hits.map((hit) => hit.eventId)).toEqual(events.map((event) => event.event_id))
      expect(total).toEqual({ value: Math.min(events.length, TOTAL_LIMIT), relation: events.length > TOTAL_LIMIT ? 'gte' : 'eq' })
    })

    it.each(NOTIFICATION_QUERIES)('notification search %j: every match, in order', async (text) => {
      const { hits, events } = await everyPage('notification', text, 'desc', 50)
      expect(hits.map((hit) => hit.eventId)).toEqual(events.map((event) => event.event_id))
    })

    it('pages oldest first too, and small pages cut ties on one millisecond by event id', async () => {
      const { hits, events } = await everyPage('log', 'level:info', 'asc', 7)
      expect(events.some((event, index) => index > 0 && event.ts === events[index - 1]!.ts)).toBe(true)
      expect(hits.map((hit) => hit.eventId)).toEqual(events.map((event) => event.event_id))
    })

    it('returns every field as stored, absent ones as "", and the attributes', async () => {
      const { hits, events } = await everyPage('log', 'level:error', 'desc', 500)
      expect(hits.length).toBeGreaterThan(0)
      const byId = new Map(events.map((event) => [event.event_id, event]))
      for (const hit of hits.slice(0, 50)) {
        const event = byId.get(hit.eventId) as LogEvent
        expect(hit.ts).toBe(event.ts)
        expect(hit.fields).toEqual({ service: event.service, host: event.host, level: event.level, message: event.message, logger: event.logger ?? '', trace_id: event.trace_id ?? '', span_id: '' })
        expect(hit.attributes).toEqual(event.attributes)
      }
    })

    it('sees only the project of the request', async () => {
      const { hits, events } = await everyPage('log', 'timeout', 'desc', 500, 'beta')
      expect(events.length).toBeGreaterThan(0)
      expect(hits.map((hit) => hit.eventId)).toEqual(events.map((event) => event.event_id))
      const { hits: none } = await everyPage('log', '', 'desc', 500, 'nobody')
      expect(none).toEqual([])
    })

    it('answers the lines around a line from the same service and host', async () => {
      const anchor = LOGS.filter((event) => event.project_id === 'alpha')[1_000]!
      const result = await subject.store.context({ projectId: 'alpha', eventId: anchor.event_id, fromMs: CORPUS_START_MS, toMs: toMs + 3_600_000, before: 5, after: 4 })
      expect(result?.anchor.eventId).toBe(anchor.event_id)
      const neighbours = LOGS.filter((event) => event.project_id === 'alpha' && event.service === anchor.service && event.host === anchor.host).sort(compare('asc'))
      const at = neighbours.findIndex((event) => event.event_id === anchor.event_id)
      expect(result!.before.map((hit) => hit.eventId)).toEqual(neighbours.slice(Math.max(0, at - 5), at).map((event) => event.event_id))
      expect(result!.after.map((hit) => hit.eventId)).toEqual(neighbours.slice(at + 1, at + 5).map((event) => event.event_id))
      expect(await subject.store.context({ projectId: 'beta', eventId: anchor.event_id, fromMs: CORPUS_START_MS, toMs: toMs + 3_600_000, before: 5, after: 5 })).toBeUndefined()
    })
  })
}
