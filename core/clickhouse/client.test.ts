import { createServer } from 'node:net'
import pino from 'pino'
import { afterEach, expect, it, vi } from 'vitest'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { createClickHouseClient } from './client.ts'

afterEach(() => vi.restoreAllMocks())

it("routes the client's own log through Eddy's logger: a failed request is one structured debug line, not console output", async () => {
  // A port nothing listens on: every request fails to connect.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
  const lines: Array<{ level: number; msg: string; component?: string }> = []
  const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {})
  const client = await createClickHouseClient({ dataDir: '/nonexistent', clickhouse: { url: `http://127.0.0.1:${port}`, database: 'eddy' } }, logger)
  try {
    await expect(client.insert({ table: 'eddy.t', values: [{ a: 1 }], format: 'JSONEachRow' })).rejects.toThrow()
  } finally {
    await client.close()
  }
  expect(consoleError).not.toHaveBeenCalled()
  const fromClient = lines.filter((line) => line.component === 'clickhouse-client')
  expect(fromClient.length).toBeGreaterThan(0)
  // The caller sees the rejection and decides how loudly to report it.
  expect(fromClient.every((line) => line.level <= 20)).toBe(true)
})

it('closed while a query still runs, the in-process engine has let go of its data directory: another one opens at once', async () => {
  const first = temporaryDirectory('chdb-close')
  const second = temporaryDirectory('chdb-reopen')
  try {
    const closing = await createClickHouseClient({ dataDir: first.path, clickhouse: { database: 'eddy' } })
    // Long enough to still be running on the engine's threads when close() is called.
    const running = closing.query({ query: 'SELECT count() FROM numbers(300000000) WHERE sipHash64(number) % 7 = 3', format: 'JSONEachRow' }).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 100))
    await closing.close()
    const reopened = await createClickHouseClient({ dataDir: second.path, clickhouse: { database: 'eddy' } })
    try {
      expect(await (await reopened.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json()).toEqual([{ one: 1 }])
    } finally {
      await reopened.close()
    }
    await running
  } finally {
    first.remove()
    second.remove()
  }
}, 60_000)
