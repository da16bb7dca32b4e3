import pino from 'pino'
import { expect, it } from 'vitest'
import type { Client } from '@elastic/elasticsearch'
import { logCorpus } from '../test-corpus.ts'
import { BulkIndexer } from './indexer.ts'

/** A client whose `_bulk` records what it was sent and answers as told. */
function fakeClient(answer: (operations: string[]) => unknown) {
  const calls: string[][] = []
  const client = {
    async bulk({ operations }: { operations: string[] }) {
      calls.push(operations)
      return answer(operations)
    },
  } as unknown as Client
  return { client, calls }
}

const indexer = (client: Client) => new BulkIndexer({ client, prefix: 'eddy', maxBatchDocs: 1_000, flushIntervalMs: 5, logger: pino({ level: 'silent' }) })
const allIndexed = (operations: string[]) => ({ errors: false, items: operations.filter((_, index) => index % 2 === 0).map(() => ({ index: { status: 201 } })) })

it('names documents by project and event id, so one project can never overwrite another', async () => {
  const { client, calls } = fakeClient(allIndexed)
  const [event] = logCorpus(1, 3)
  await indexer(client).index('log', [{ ...event!, project_id: 'alpha' }, { ...event!, project_id: 'beta' }])
  const ids = calls.flat().filter((_, index) => index % 2 === 0).map((line) => JSON.parse(line).index._id)
  expect(ids).toEqual([`alpha/${event!.event_id}`, `beta/${event!.event_id}`])
})

it('splits a batch into bulks of at most 10 MB', async () => {
  const { client, calls } = fakeClient(allIndexed)
  const events = logCorpus(3, 4).map((event) => ({ ...event, message: 'x'.repeat(3 * 1024 * 1024) }))
  expect(await indexer(client).index('log', events)).toEqual([])
  // Each line is sent twice (message and its tokens): two documents no longer fit in one bulk.
  expect(calls.map((operations) => operations.length / 2)).toEqual([1, 1, 1])
})

it('gives up on abort() while Elasticsearch stays unreachable: callers are rejected and close() returns', async () => {
  const { client, calls } = fakeClient(() => {
    throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'ConnectionError' })
  })
  const writer = indexer(client)
  const waiting = writer.index('log', logCorpus(5, 5))
  const outcome = waiting.then(() => 'resolved', () => 'rejected')
  await new Promise((resolve) => setTimeout(resolve, 500))
  expect(calls.length).toBeGreaterThan(0)
  writer.abort()
  expect(await outcome).toBe('rejected')
  await writer.close()
  await expect(writer.index('log', logCorpus(1, 6))).rejects.toThrow(/closed/)
})
