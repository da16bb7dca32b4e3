import type { ClickHouseClient } from '@clickhouse/client'
import { Readable } from 'node:stream'
import avro from 'avsc'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ClickHouseBatchWriter } from './clickhouse-batch-writer.ts'

/** Records every insert; the writer under test never reaches a server. */
function recordingClient() {
  const inserts: Array<{ table: string; rows: number }> = []
  const client = { insert: async ({ table, values }: { table: string; values: unknown[] }) => { inserts.push({ table, rows: values.length }) } }
  return { inserts, client: client as unknown as ClickHouseClient }
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 20))

describe('ClickHouseBatchWriter', () => {
  it('holds ordinary rows for the flush interval, and inserts prompt rows once the turn is over, in one insert with whatever else is pending', async () => {
    const { inserts, client } = recordingClient()
    const writer = new ClickHouseBatchWriter({ client, maxBatchRows: 1_000, flushIntervalMs: 600_000, logger: pino({ level: 'silent' }) })

    const ordinary = writer.write('events_click', [{ id: 1 }])
    await turn()
    expect(inserts).toEqual([])

    // Every partition's tick in one turn: one insert per table, carrying the rows held before.
    const early = [writer.write('clicks_1m', [{ id: 2 }], { prompt: true }), writer.write('clicks_1m', [{ id: 3 }], { prompt: true }), writer.write('events_click', [{ id: 4 }], { prompt: true })]
    await Promise.all([...early, ordinary])
    expect(inserts).toEqual([{ table: 'clicks_1m', rows: 2 }, { table: 'events_click', rows: 2 }])

    // An ordinary write after a prompt one in the same turn rides along instead of waiting.
    const both = [writer.write('clicks_1m', [{ id: 5 }], { prompt: true }), writer.write('clicks_1m', [{ id: 6 }])]
    await Promise.all(both)
    expect(inserts.at(-1)).toEqual({ table: 'clicks_1m', rows: 2 })
    await writer.close()
  })

  it('encodes rows as they arrive, refusing a caller whose row does not fit without touching the others in its batch', async () => {
    const containers: Array<{ table: string; values: unknown[] }> = []
    const type = avro.Type.forSchema({ type: 'record', name: 'row', fields: [{ name: 'id', type: 'long' }, { name: 'path', type: 'string' }] })
    const insertAvro = async (table: string, container: Buffer) => {
      const values: unknown[] = []
      for await (const value of Readable.from([container]).pipe(new avro.streams.BlockDecoder())) values.push(value)
      containers.push({ table, values })
    }
    const writer = new ClickHouseBatchWriter({ client: recordingClient().client, insertAvro, maxBatchRows: 1_000, flushIntervalMs: 600_000, logger: pino({ level: 'silent' }) })
    const first = writer.writeRows('clicks_1m', type, [{ id: 1, path: '/a' }])
    // The second row lacks a column: the whole call is refused, and neither of its rows is written.
    const broken = writer.writeRows('clicks_1m', type, [{ id: 2, path: '/b' }, { id: 3 }])
    const last = writer.writeRows('clicks_1m', type, [{ id: 4, path: '/d' }], { prompt: true })
    await expect(broken).rejects.toThrow(/invalid/)
    await Promise.all([first, last])
    expect(containers).toEqual([{ table: 'clicks_1m', values: [{ id: 1, path: '/a' }, { id: 4, path: '/d' }] }])
    await writer.close()
  })
})
