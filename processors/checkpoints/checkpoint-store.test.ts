import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouseClient, type ClickHouseClient } from '../../core/clickhouse/client.ts'
import { migrate } from '../../core/clickhouse/migrate.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { ClickHouseCheckpointStore } from './clickhouse-store.ts'
import { FileCheckpointStore } from './file-store.ts'
import type { CheckpointStore } from './port.ts'

const directory = temporaryDirectory('checkpoints')
let clickhouse: ClickHouseClient
beforeAll(async () => {
  clickhouse = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy' } })
  await migrate(clickhouse, { database: 'eddy', retentionDays: 30, logger: pino({ level: 'silent' }) })
})
afterAll(async () => {
  await clickhouse.close()
  directory.remove()
})

const stores: Array<[string, () => CheckpointStore]> = [
  ['file', () => new FileCheckpointStore(`${directory.path}/checkpoints`)],
  ['clickhouse', () => new ClickHouseCheckpointStore(clickhouse, 'eddy')],
]

describe.each(stores)('%s checkpoint store', (_name, makeStore) => {
  it('has nothing for a partition never saved', async () => {
    expect(await makeStore().load('clicks', 'eddy.clicks', 9)).toBeUndefined()
  })

  it('returns the newest checkpoint with its exact bytes, per job and partition', async () => {
    const store = makeStore()
    const bytes = new Uint8Array(256).map((_, i) => i) // every byte value, including 0 and 255
    await store.save({ job: 'clicks', topic: 'eddy.clicks', partition: 1, nextOffset: 10, state: new Uint8Array([1]), savedAt: 1_000 })
    await store.save({ job: 'clicks', topic: 'eddy.clicks', partition: 1, nextOffset: 42, state: bytes, savedAt: 2_000 })
    await store.save({ job: 'logs', topic: 'eddy.clicks', partition: 1, nextOffset: 7, state: new Uint8Array([9]), savedAt: 3_000 })
    const loaded = await makeStore().load('clicks', 'eddy.clicks', 1)
    expect(loaded).toMatchObject({ job: 'clicks', topic: 'eddy.clicks', partition: 1, nextOffset: 42, savedAt: 2_000 })
    expect([...loaded!.state]).toEqual([...bytes])
    expect((await store.load('logs', 'eddy.clicks', 1))?.nextOffset).toBe(7)
  })
})
