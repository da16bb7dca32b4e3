import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { loadConfig, type Environment } from '../../core/config/index.ts'
import { reindexCommand, reindexExitCode } from './reindex.ts'

const PROJECTS = JSON.stringify([{ id: 'shop', writeKeys: ['shop-write-1'], readKeys: ['shop-read-1'] }])
const RANGE = { from: '2026-11-01', to: '2026-11-30' }

/** The checks that come before anything is opened: no data dir, ClickHouse or Elasticsearch is touched. */
function run(values: Record<string, string | undefined>, env: Environment = { ELASTICSEARCH_URL: 'http://127.0.0.1:1' }) {
  return reindexCommand.run({ config: loadConfig({ EDDY_PROJECTS: PROJECTS, ...env }), logger: pino({ level: 'silent' }), values: { batch: '5000', ...values }, print: () => undefined })
}

describe('eddy reindex arguments', () => {
  it('says so when no Elasticsearch is configured', async () => {
    await expect(run(RANGE, {})).rejects.toThrow(/^eddy reindex needs ELASTICSEARCH_URL: .*none is configured/)
  })

  it('needs an absolute range, from before to', async () => {
    await expect(run({})).rejects.toThrow('--from and --to are required')
    await expect(run({ ...RANGE, from: '24h' })).rejects.toThrow(/--from must be an ISO 8601 date/)
    await expect(run({ from: '2026-11-30', to: '2026-11-01T00:00:00Z' })).rejects.toThrow(/--to \(2026-11-01T00:00:00.000Z\) must be after --from/)
  })

  it('takes the project from a write key only, and the stream from a known name', async () => {
    await expect(run({ ...RANGE, 'write-key': 'shop-read-1' })).rejects.toThrow('--write-key is not the write key of any configured project')
    await expect(run({ ...RANGE, stream: 'click' })).rejects.toThrow('--stream must be log or notification, got "click"')
    await expect(run({ ...RANGE, batch: '0' })).rejects.toThrow('--batch must be a positive whole number')
  })
})

describe('eddy reindex exit code', () => {
  const summary = { stream: 'log' as const, done: 10, total: 10, rejected: 0, resumedAfter: 0 }
  it('is 2 when Elasticsearch refused documents of any stream, 0 when it took them all', () => {
    expect(reindexExitCode([summary, { ...summary, stream: 'notification' }])).toBe(0)
    expect(reindexExitCode([summary, { ...summary, stream: 'notification', rejected: 1, rejectedPath: '/data/reindex/x.rejected.ndjson' }])).toBe(2)
    // Refused only in the interrupted run this one continued: the report file still names them.
    expect(reindexExitCode([{ ...summary, rejectedPath: '/data/reindex/y.rejected.ndjson' }])).toBe(2)
  })
})
