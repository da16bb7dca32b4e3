import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { UserAgentParser } from '../../ingest/normalise/user-agent.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import type { ImportDestination } from './destination.ts'
import { exitCode } from './import-summary.ts'
import { importLines, type ImportOptions } from './importer.ts'
import { openLineSource } from './line-reader.ts'
import type { AcceptedLine } from './normalise-line.ts'

const NOW = Date.UTC(2026, 5, 1, 12)
const directories: Array<{ remove(): void }> = []
afterEach(() => directories.splice(0).forEach((directory) => directory.remove()))

function file(name: string, content: string | Buffer): string {
  const directory = temporaryDirectory('import')
  directories.push(directory)
  const path = join(directory.path, name)
  writeFileSync(path, content)
  return path
}

/** Acknowledges every batch, remembering what it was given. */
function recordingDestination(): ImportDestination & { readonly published: AcceptedLine[] } {
  const published: AcceptedLine[] = []
  return { description: 'a recording', published, publish: async (batch) => { published.push(...batch); return [] }, close: async () => undefined }
}

async function run(paths: string[], overrides: Partial<ImportOptions> = {}) {
  const sources = await Promise.all(paths.map((path) => openLineSource(path, { maxLineBytes: 32_768 })))
  const destination = recordingDestination()
  const tally = await importLines({
    sources,
    context: { projectId: 'alpha', bounds: { maxFutureMs: 86_400_000, retentionMs: 400 * 86_400_000 }, userAgents: new UserAgentParser() },
    destination,
    maxNestingDepth: 64,
    maxEventBytes: 32_768,
    clock: () => NOW,
    batchEvents: 3,
    ...overrides,
  })
  return { tally, destination }
}

const page = (id: string, ts = '2026-06-01T11:00:00Z') => JSON.stringify({ type: 'page', messageId: id, anonymousId: 'a1', timestamp: ts, context: { page: { url: 'https://shop.example/' } } })
const log = (id: string) => JSON.stringify({ id, service: 'checkout', level: 'error', message: 'payment failed', timestamp: '2026-06-01T11:30:00Z' })

describe('importLines', () => {
  it('refuses bad lines by number with the reason and imports every other line', async () => {
    const path = file('mixed.ndjson', [
      page('m1'),
      '{"type":"page", "messageId":',
      JSON.stringify({ type: 'track', messageId: 'm3', anonymousId: 'a1', event: 42 }),
      `{"service":"x","message":"${'y'.repeat(40 * 1024 * 1024)}"}`,
      page('m5', '2020-01-01T00:00:00Z'),
      JSON.stringify({ notification_id: 'n1', channel: 'pigeon', status: 'sent' }),
      JSON.stringify({ hello: 'world' }),
      log('l8'),
      JSON.stringify({ notification_id: 'n1', channel: 'email', status: 'sent', timestamp: '2026-06-01T11:45:00Z' }),
    ].join('\n'))
    const { tally, destination } = await run([path])
    expect(tally.lines).toBe(9)
    expect(tally.accepted).toBe(3)
    expect(destination.published.map((line) => line.stream).sort()).toEqual(['click', 'log', 'notification'])
    expect(tally.refusals.map((refusal) => [refusal.line, refusal.reason])).toEqual([
      [2, expect.stringContaining('is not valid JSON')],
      [3, '/event: must be a string, got number 42; /event: is required for track calls'],
      [4, `line is ${40 * 1024 * 1024 + 28} bytes, more than the limit of 32768 (EDDY_MAX_EVENT_BYTES)`],
      [5, '/timestamp: event time 2020-01-01T00:00:00.000Z is older than the retention of 400 days'],
      [6, expect.stringContaining('/channel: must be one of email')],
      [7, expect.stringContaining('is not a Segment call')],
    ])
    expect(tally.refusals.every((refusal) => refusal.source === path)).toBe(true)
    expect(exitCode(tally)).toBe(2)
    expect(tally.touched()).toEqual(expect.arrayContaining([
      { stream: 'click', fromMs: Date.UTC(2026, 5, 1, 11), toMs: Date.UTC(2026, 5, 1, 11), events: 1 },
      { stream: 'log', fromMs: Date.UTC(2026, 5, 1, 11, 30), toMs: Date.UTC(2026, 5, 1, 11, 30), events: 1 },
    ]))
  })

  it('imports the lines of a truncated gzip file before the break, names it, and goes on with the next file', async () => {
    const whole = gzipSync(Array.from({ length: 4_000 }, (_, index) => page(`cut-${index}`)).join('\n'))
    const cut = file('cut.ndjson.gz', whole.subarray(0, Math.floor(whole.length / 2)))
    const next = file('next.ndjson', `${page('after-1')}\n${page('after-2')}\n`)
    const { tally, destination } = await run([cut, next])
    expect(tally.inputErrors).toHaveLength(1)
    expect(tally.inputErrors[0]).toContain(`${cut}: the gzip stream is truncated`)
    const lastGood = Number(/after line (\d+)/.exec(tally.inputErrors[0]!)![1])
    expect(lastGood).toBeGreaterThan(0)
    expect(tally.accepted).toBe(lastGood + 2)
    expect(destination.published.at(-1)!.payload.messageId).toBe('after-2')
    expect(exitCode(tally)).toBe(2)
  })

  it('counts ids repeated within the file as duplicates and sends each once; a clean file exits 0', async () => {
    const path = file('twice.ndjson', [page('d1'), page('d2'), page('d1'), log('l1'), log('l1')].join('\n'))
    const { tally, destination } = await run([path])
    expect({ accepted: tally.accepted, duplicates: tally.duplicates, refused: tally.refused }).toEqual({ accepted: 3, duplicates: 2, refused: 0 })
    expect(destination.published).toHaveLength(3)
    expect(exitCode(tally)).toBe(0)
  })

  it('counts a duplicate only within a stream: a log line and a notification may share an id', async () => {
    const shared = '6f1d3a52-1c9e-4b7f-9a0d-2e5b8c4f7a31'
    const path = file('shared-id.ndjson', [
      JSON.stringify({ event_id: shared, service: 'checkout', message: 'paid', timestamp: '2026-06-01T11:30:00Z' }),
      JSON.stringify({ event_id: shared, notification_id: 'n1', channel: 'email', status: 'sent', timestamp: '2026-06-01T11:45:00Z' }),
    ].join('\n'))
    const { tally, destination } = await run([path])
    expect({ accepted: tally.accepted, duplicates: tally.duplicates }).toEqual({ accepted: 2, duplicates: 0 })
    expect(destination.published.map((line) => line.stream).sort()).toEqual(['log', 'notification'])
  })

  it('stops with a fatal error, not a crash, when the destination answers with nonsense', async () => {
    const path = file('nonsense.ndjson', Array.from({ length: 6 }, (_, index) => page(`z${index}`)).join('\n'))
    const { tally } = await run([path], {
      destination: { description: 'confused', close: async () => undefined, publish: async (batch) => [{ index: batch.length + 5, reason: 'no such event' }] },
    })
    expect(tally.fatal).toContain('refused event 8 of a batch of 3')
    expect(tally.accepted).toBe(0)
    expect(exitCode(tally)).toBe(1)
  })

  it('only validates in a dry run, and hands the touched ranges to afterImport only when something was published', async () => {
    const path = file('dry.ndjson', `${page('x1')}\nnot json\n`)
    const ranges: unknown[] = []
    const dry = await run([path], { destination: undefined, afterImport: async (touched) => { ranges.push(touched) } })
    expect({ accepted: dry.tally.accepted, refused: dry.tally.refused }).toEqual({ accepted: 1, refused: 1 })
    expect(ranges).toEqual([])
    await run([path], { afterImport: async (touched) => { ranges.push(touched) } })
    expect(ranges).toEqual([[{ stream: 'click', fromMs: Date.UTC(2026, 5, 1, 11), toMs: Date.UTC(2026, 5, 1, 11), events: 1 }]])
  })

  it('stops with a fatal error when the destination cannot acknowledge, counting nothing of the failed batch', async () => {
    const path = file('many.ndjson', Array.from({ length: 20 }, (_, index) => page(`f${index}`)).join('\n'))
    const sources = [await openLineSource(path, { maxLineBytes: 32_768 })]
    let batches = 0
    const tally = await importLines({
      sources,
      context: { projectId: 'alpha', bounds: { maxFutureMs: 86_400_000, retentionMs: 400 * 86_400_000 }, userAgents: new UserAgentParser() },
      destination: { description: 'failing', close: async () => undefined, publish: async () => { if (++batches > 1) throw new Error('log unavailable'); return [] } },
      maxNestingDepth: 64,
      maxEventBytes: 32_768,
      clock: () => NOW,
      batchEvents: 5,
      inFlight: 1,
    })
    expect(tally.fatal).toContain('log unavailable')
    expect(tally.accepted).toBe(5)
    expect(exitCode(tally)).toBe(1)
  })
})
