import { describe, expect, it } from 'vitest'
import { normaliseSegmentCall, type RequestContext } from '../../ingest/normalise/segment.ts'
import { UserAgentParser } from '../../ingest/normalise/user-agent.ts'
import type { EventByStream } from '../../core/codec/avro-codec.ts'
import { generateTraffic } from '../../traffic/generator.ts'
import type { Stream } from '../../schemas/avro/catalog.ts'
import { EXPORT_COLUMNS, EXPORT_FORMAT, type RawRow } from './export-format.ts'
import { normaliseImportLine, type ImportContext } from './normalise-line.ts'

const NOW = Date.UTC(2026, 5, 1, 12)
const context: ImportContext = { projectId: 'alpha', receivedAt: NOW, bounds: { maxFutureMs: 86_400_000, retentionMs: 400 * 86_400_000 }, userAgents: new UserAgentParser() }

/** An event as its raw row comes back from ClickHouse: nulls stored as '', only the exported columns. */
function storedRow(stream: Stream, event: EventByStream[Stream]): RawRow {
  const row: Record<string, unknown> = {}
  for (const column of EXPORT_COLUMNS[stream]) row[column] = (event as unknown as Record<string, unknown>)[column] ?? ''
  return row as RawRow
}

function normalised(value: unknown, receivedAt = NOW) {
  const result = normaliseImportLine(JSON.parse(JSON.stringify(value)), { ...context, receivedAt })
  if (!result.ok) throw new Error(result.reason)
  return result
}

describe('export format', () => {
  it('normalising an exported line again gives the same raw row, for every stream of realistic traffic', () => {
    const traffic = generateTraffic({ seed: 7, events: 3_000, startMs: NOW - 3_600_000, spanMs: 3_600_000 })
    const streams = new Set<Stream>()
    for (const generated of traffic) {
      // What the first ingest stored, then its export, then the import of that line.
      const first = normalised(generated.payload)
      streams.add(first.stream)
      const row = storedRow(first.stream, first.event)
      const line = EXPORT_FORMAT[first.stream](row)
      const again = normalised(line, NOW + 86_400_000)
      expect(again.stream).toBe(first.stream)
      expect({ ...storedRow(again.stream, again.event), received_at: 0 }).toEqual({ ...row, received_at: 0 })
    }
    expect([...streams].sort()).toEqual(['click', 'log', 'notification'])
  })

  it('writes clicks as Segment calls: type, messageId, timestamp, context.page and campaign, properties or traits', () => {
    const event = normalised({
      type: 'page', messageId: 'm-1', anonymousId: 'a1', userId: 'u1', name: 'Pricing', timestamp: '2026-06-01T10:00:00.123Z',
      properties: { plan: 'pro' },
      context: { page: { url: 'https://shop.example/pricing?utm_source=hn', title: 'Pricing', referrer: 'https://news.ycombinator.com/' }, locale: 'de-DE', screen: { width: 390, height: 844 }, location: { country: 'de' }, userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' },
    })
    const line = EXPORT_FORMAT.click(storedRow('click', event.event))
    expect(line).toMatchObject({
      type: 'page', name: 'Pricing', messageId: event.event.event_id, anonymousId: 'a1', userId: 'u1', timestamp: '2026-06-01T10:00:00.123Z',
      properties: { plan: 'pro' },
      context: {
        page: { url: 'https://shop.example/pricing?utm_source=hn', path: '/pricing', title: 'Pricing', referrer: 'https://news.ycombinator.com/' },
        campaign: { source: 'hn' }, locale: 'de-DE', screen: { width: 390, height: 844 }, location: { country: 'DE' },
        eddy: { browser: 'Mobile Safari', os: 'iOS', deviceType: 'mobile' },
      },
    })
    const identify = normalised({ type: 'identify', messageId: 'm-2', userId: 'u1', traits: { plan: 'pro' } })
    expect(EXPORT_FORMAT.click(storedRow('click', identify.event))).toMatchObject({ type: 'identify', traits: { plan: 'pro' }, anonymousId: 'u1' })
  })
})

describe('the exported client (context.eddy)', () => {
  const exportedCall = (eddy: unknown, context: Record<string, unknown> = {}) =>
    ({ type: 'page', messageId: 'm-9', anonymousId: 'a1', timestamp: '2026-06-01T11:00:00Z', context: { page: { url: 'https://shop.example/' }, eddy, ...context } })
  const archived = { browser: 'Mobile Safari', os: 'iOS', deviceType: 'mobile', visitorHash: 'Zm9vYmFyYmF6cXV4cXV1dw' }
  /** As ingest's collect routes build it: the request's user agent, a cookieless hasher. */
  const publicRoute = (userAgent: string): RequestContext => ({ ...context, userAgent, country: null, visitor: () => 'server-side-hash-xxxxxx' })

  it('is taken by an import, which has no user agent: browser, OS, device and visitor hash as exported', () => {
    expect(normalised(exportedCall(archived)).event).toMatchObject({ browser: 'Mobile Safari', os: 'iOS', device_type: 'mobile', visitor_hash: 'Zm9vYmFyYmF6cXV4cXV1dw' })
  })

  it('never outranks a user agent: a request or message that has one is classified from it, bots included', () => {
    const fromBot = normaliseSegmentCall(exportedCall({ ...archived, deviceType: 'desktop' }), 0, publicRoute('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'))
    expect(fromBot).toMatchObject({ ok: true, event: { device_type: 'bot', visitor_hash: null } })
    const withMessageAgent = normaliseSegmentCall(exportedCall(archived, { userAgent: 'curl/8.5.0' }), 0, publicRoute(''))
    expect(withMessageAgent).toMatchObject({ ok: true, event: { device_type: 'bot', browser: '', os: '' } })
    // A cookieless event's visitor hash is the server's, whatever the block says.
    const cookieless = normaliseSegmentCall({ ...exportedCall(archived, { cookieless: true }), anonymousId: undefined }, 0, publicRoute(''))
    expect(cookieless).toMatchObject({ ok: true, event: { visitor_hash: 'server-side-hash-xxxxxx', anonymous_id: 'server-side-hash-xxxxxx' } })
  })

  it.each([
    ['a block that is not an object', 'mobile', '/context/eddy: must be an object, got string "mobile"'],
    ['an unknown device type', { ...archived, deviceType: 'robot' }, '/context/eddy/deviceType: must be one of desktop, mobile, tablet, bot, other, got "robot"'],
    ['no device type', { browser: 'Chrome', os: 'Linux' }, '/context/eddy/deviceType: is required (one of desktop, mobile, tablet, bot, other)'],
    ['a browser that is no name', { ...archived, browser: '<img src=x onerror=alert(1)>' }, '/context/eddy/browser: may hold only letters, digits, spaces and . _ + - / ( ) !'],
    ['a browser too long', { ...archived, browser: 'B'.repeat(65) }, '/context/eddy/browser: must be at most 64 characters'],
    ['an OS of another type', { ...archived, os: 17 }, '/context/eddy/os: must be a string, got number 17'],
    ['a visitor hash outside its alphabet', { ...archived, visitorHash: 'not a hash' }, '/context/eddy/visitorHash: must be 1 to 64 letters, digits, - or _'],
  ])('refuses %s, as any invalid field, on every path', (_case, eddy, reason) => {
    expect(normaliseImportLine(exportedCall(eddy), context)).toEqual({ ok: false, reason })
    expect(normaliseSegmentCall(exportedCall(eddy), 0, publicRoute('Mozilla/5.0'))).toMatchObject({ ok: false })
  })
})
