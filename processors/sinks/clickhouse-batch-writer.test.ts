import { Readable } from 'node:stream'
import avro from 'avsc'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ClickHouseBatchWriter } from './clickhouse-batch-writer.ts'

/** Records every container inserted, decoded; the writer under test never reaches a server. */
function recordingInsert() {
  const inserts: Array<{ table: string; values: unknown[] }> = []
  const insertAvro = async (table: string, container: Buffer) => {
    const values: unknown[] = []
    for await (const value of Readable.from([container]).pipe(new avro.streams.BlockDecoder())) values.push(value)
    inserts.push({ table, values })
  }
  return { inserts, insertAvro }
}

const ROW = avro.Type.forSchema({ type: 'record', name: 'row', fields: [{ name: 'id', type: 'long' }, { name: 'path', type: 'string' }] })
const row = (id: number) => ({ id, path: `/${id}` })
const turn = () => new Promise((resolve) => setTimeout(resolve, 20))

describe('ClickHouseBatchWriter', () => {
  it('holds ordinary rows for the flush interval, and inserts prompt rows once the turn is over, in one insert with whatever else is pending', async () => {
    const { inserts, insertAvro } = recordingInsert()
    const writer = new ClickHouseBatchWriter({ insertAvro, maxBatchRows: 1_000, flushIntervalMs: 600_000, logger: pino({ level: 'silent' }) })
    const rowsOf = (index: number) => inserts[index]!.values.map((value) => (value as { id: number }).id)

    const ordinary = writer.writeRows('events_click', ROW, [row(1)])
    await turn()
    expect(inserts).toEqual([])

    // Every partition's tick in one turn: one insert per table, carrying the rows held before.
    const early = [writer.writeRows('clicks_1m', ROW, [row(2)], { prompt: true }), writer.writeRows('clicks_1m', ROW, [row(3)], { prompt: true }), writer.writeRows('events_click', ROW, [row(4)], { prompt: true })]
    await Promise.all([...early, ordinary])
    expect(inserts.map((insert) => insert.table)).toEqual(['clicks_1m', 'events_click'])
    expect([rowsOf(0), rowsOf(1)]).toEqual([[2, 3], [1, 4]])

    // An ordinary write after a prompt one in the same turn rides along instead of waiting.
    const both = [writer.writeRows('clicks_1m', ROW, [row(5)], { prompt: true }), writer.writeRows('clicks_1m', ROW, [row(6)])]
    await Promise.all(both)
    expect(rowsOf(2)).toEqual([5, 6])
    await writer.close()
  })

  it('encodes rows as they arrive, refusing a caller whose row does not fit without touching the others in its batch', async () => {
    const { inserts: containers, insertAvro } = recordingInsert()
    const type = ROW
    const writer = new ClickHouseBatchWriter({ insertAvro, maxBatchRows: 1_000, flushIntervalMs: 600_000, logger: pino({ level: 'silent' }) })
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
