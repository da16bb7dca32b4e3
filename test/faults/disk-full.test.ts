import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reportFaultCounts } from '../support/fault-report.ts'
import { eventually, startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'
import { describeUnavailable } from '../support/services.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

/**
 * The disk under the embedded log fills up while clients send: ingest refuses with 507 and never
 * answers 202 for what it did not store; once space is freed it accepts again by itself, and every
 * event it acknowledged is stored exactly once. A small tmpfs mounted on the log directory is the
 * full disk (mounting needs root, which CI has).
 */
const LOG_FS_BYTES = 24 * 1024 * 1024
const LINES_PER_REQUEST = 50

function canMount(): string | undefined {
  const probe = temporaryDirectory('mount-probe')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe.path], { stdio: 'pipe' })
    execFileSync('umount', [probe.path], { stdio: 'pipe' })
    return undefined
  } catch (error) {
    return `cannot mount a tmpfs here (${String((error as Error).message).split('\n')[0]})`
  } finally {
    probe.remove()
  }
}

/** Writes zeros until the file system refuses: the disk is full, to the last byte. */
function fill(directory: string): string {
  const path = join(directory, 'filler')
  const fd = openSync(path, 'w')
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size)
      for (;;) {
        try {
          writeSync(fd, chunk)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break
          throw error
        }
      }
    }
  } finally {
    closeSync(fd)
  }
  return path
}

const unavailable = canMount()
if (unavailable) describeUnavailable('fault: the embedded log\'s disk fills up', 'a tmpfs mount (root)', unavailable)
else describe('fault: the embedded log\'s disk fills up', () => {
  const data = temporaryDirectory('disk-full')
  const logDir = join(data.path, 'log')
  const service = `disk-full-${Date.now()}`
  let eddy: TestPipeline
  let mounted = false
  beforeAll(async () => {
    mkdirSync(logDir)
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${LOG_FS_BYTES}`, 'tmpfs', logDir])
    mounted = true
    eddy = await startTestPipeline({ EDDY_DATA_DIR: data.path })
  })
  afterAll(async () => {
    await eddy?.stop()
    if (mounted) execFileSync('umount', ['-l', logDir])
    data.remove()
  })

  let nextLine = 0
  const sent = { requests: 0, lines: 0 }
  const acknowledged = new Set<number>()
  const refused = new Set<number>()
  const statuses: Record<number, number> = {}
  async function send(): Promise<{ status: number; type: string | null; body: any }> {
    const first = nextLine
    nextLine += LINES_PER_REQUEST
    const body = Array.from({ length: LINES_PER_REQUEST }, (_, index) => JSON.stringify({ service, level: 'info', message: `line ${first + index} ${'x'.repeat(120)}` })).join('\n')
    const response = await fetch(`${eddy.url}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/x-ndjson' },
      body,
    })
    sent.requests++
    sent.lines += LINES_PER_REQUEST
    statuses[response.status] = (statuses[response.status] ?? 0) + 1
    for (let line = first; line < nextLine; line++) (response.status === 202 ? acknowledged : refused).add(line)
    return { status: response.status, type: response.headers.get('content-type'), body: await response.json().catch(() => null) }
  }

  it('refuses with 507 while full, recovers by itself once space is freed, and stores every acknowledged event once', async () => {
    for (let request = 0; request < 20; request++) expect((await send()).status).toBe(202)

    const filler = fill(logDir)
    const whileFull = []
    for (let request = 0; request < 10; request++) whileFull.push(await send())
    for (const response of whileFull) {
      expect(response.status).toBe(507)
      expect(response.type).toMatch(/^application\/problem\+json/)
      expect(response.body.code).toBe('INGEST_STORAGE_FULL')
    }
    expect((await fetch(`${eddy.url}/readyz`)).status).toBe(503)

    rmSync(filler)
    // The log probes its disk every second; clients retry until it accepts again.
    const recovered = await eventually(() => send(), (response) => response.status === 202, 30_000)
    expect(recovered.status).toBe(202)
    for (let request = 0; request < 20; request++) expect((await send()).status).toBe(202)
    expect((await fetch(`${eddy.url}/readyz`)).status).toBe(200)

    const clickhouse = await eddy.runtime.clickhouse()
    // The lines carry no id (ingest gives each a random event_id), so a line is recognised by the
    // number in its message: a line stored twice shows up as a duplicate whatever its ids.
    const counts = await reportFaultCounts(clickhouse, 'disk-full', {
      sent: sent.lines,
      streams: [{
        table: 'eddy.events_log',
        where: 'service = {service:String}',
        params: { service },
        key: "splitByChar(' ', message)[2]",
        acknowledged: [...acknowledged].map(String),
      }],
      extra: { refused: refused.size, requests: sent.requests, statuses },
    })
    // Nothing refused may be stored either: every sent line was acknowledged or refused, so a
    // stored line that was not acknowledged is one that was refused.
    expect(counts).toMatchObject({ lost: 0, duplicates: 0, unacknowledged: 0, stored: acknowledged.size })
  }, 120_000)
})
