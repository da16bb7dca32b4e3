import { Readable } from 'node:stream'
import { MessageChannel } from 'node:worker_threads'
import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { temporaryDirectory } from '../../../test/support/temp-dir.ts'
import { startWorker } from '../../thread/worker.ts'
import { clickHouseClientOn, createClickHouseClient, embeddedConnection } from '../client.ts'
import { threadConnection } from './connection.ts'
import { serveClickHouse } from './serve.ts'

// The owner and the user at the two ends of a MessageChannel: every call crosses the port as it
// would between threads (structured clone, moved buffers, asynchronous delivery).
describe('ClickHouse served to another thread', () => {
  const directory = temporaryDirectory('chdb-thread')
  let owner: ClickHouseClient
  let user: ClickHouseClient
  let server: { close(): void }
  let channel: MessageChannel
  beforeAll(async () => {
    owner = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy' } })
    channel = new MessageChannel()
    server = serveClickHouse(embeddedConnection(owner)!, channel.port1)
    user = clickHouseClientOn(threadConnection(channel.port2))
    await owner.command({ query: 'CREATE DATABASE IF NOT EXISTS t' })
  })
  afterAll(async () => {
    await user.close()
    server.close()
    channel.port1.close()
    await owner.close()
    directory.remove()
  })

  const both = () => [['owner', owner], ['user', user]] as const

  it('runs commands, inserts and queries there, with the same answers as the owner gets', async () => {
    await user.command({ query: 'CREATE TABLE t.rows (id UInt32, name String) ENGINE = MergeTree ORDER BY id' })
    await user.insert({ table: 't.rows', values: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }], format: 'JSONEachRow' })
    // An exec with a body, as an Avro insert over HTTP goes, and an insert of a stream.
    await user.exec({ query: 'INSERT INTO t.rows FORMAT JSONEachRow', values: Readable.from([Buffer.from('{"id":3,"name":"c"}\n{"id":4,"name":"d"}\n')]) })
    await user.insert({ table: 't.rows', values: Readable.from([{ id: 5, name: 'e' }], { objectMode: true }), format: 'JSONEachRow' })
    for (const [, client] of both()) {
      const rows = await (await client.query({ query: 'SELECT id, name FROM t.rows WHERE id >= {from:UInt32} ORDER BY id', query_params: { from: 2 }, format: 'JSONEachRow' })).json()
      expect(rows).toEqual([{ id: 2, name: 'b' }, { id: 3, name: 'c' }, { id: 4, name: 'd' }, { id: 5, name: 'e' }])
    }
  })

  it('streams a large result row by row', async () => {
    const result = await user.query({ query: 'SELECT number AS n FROM numbers(200000)', format: 'JSONEachRow' })
    let count = 0
    let sum = 0
    for await (const rows of result.stream<{ n: string }>()) {
      for (const row of rows) {
        count += 1
        sum += Number(row.json().n)
      }
    }
    expect(count).toBe(200_000)
    expect(sum).toBe((199_999 * 200_000) / 2)
  })

  it('keeps a ClickHouse error one, with its code and type, and the owner goes on', async () => {
    const errors = await Promise.all(both().map(([, client]) => client.query({ query: 'SELEC 1', format: 'JSONEachRow' }).then(() => undefined, (error: unknown) => error)))
    // The owner's comes from chDB's copy of the class; across the port it is the client's own.
    expect(errors[1]).toBeInstanceOf(ClickHouseError)
    for (const error of errors) expect(error).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' })
    expect((errors[1] as Error).message).toBe((errors[0] as Error).message)
    expect(await (await user.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json()).toEqual([{ one: 1 }])
  })

  it('stops waiting for a query the caller aborts, on both sides', async () => {
    const abort = new AbortController()
    const running = user.query({ query: 'SELECT count() FROM numbers(100000000) WHERE sipHash64(number) % 7 = 3', format: 'JSONEachRow', abort_signal: abort.signal })
    setImmediate(() => abort.abort())
    await expect(running).rejects.toThrow()
    expect(await (await owner.query({ query: 'SELECT 2 AS two', format: 'JSONEachRow' })).json()).toEqual([{ two: 2 }])
  })

  it('answers a ping', async () => {
    expect(await user.ping()).toEqual({ success: true })
  })
})

describe('ClickHouse served to a worker thread', () => {
  it('runs a worker thread query on the main thread engine, and the main thread goes on querying', async () => {
    const directory = temporaryDirectory('chdb-worker')
    const owner = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy' } })
    const channel = new MessageChannel()
    const server = serveClickHouse(embeddedConnection(owner)!, channel.port1)
    const worker = startWorker(new URL('./thread-worker.fixture.ts', import.meta.url), { port: channel.port2 }, [channel.port2])
    try {
      const answer = await new Promise<unknown>((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
      })
      expect(answer).toEqual({ rows: [{ n: 45 }], error: '62' })
      // The engine is still the main thread's: its own next query answers.
      expect(await (await owner.query({ query: 'SELECT 3 AS three', format: 'JSONEachRow' })).json()).toEqual([{ three: 3 }])
    } finally {
      await worker.terminate()
      server.close()
      channel.port1.close()
      await owner.close()
      directory.remove()
    }
  })
})
