import { Readable } from 'node:stream'
import avro from 'avsc'
import { describe, expect, it } from 'vitest'
import { avroContainer, AvroDatumsBlock, avroRowsContainer } from './avro-container.ts'

async function readContainer(bytes: Buffer): Promise<{ schema: unknown; values: unknown[] }> {
  const decoder = Readable.from([bytes]).pipe(new avro.streams.BlockDecoder())
  let schema: unknown
  decoder.on('metadata', (type: avro.Type) => (schema = type.schema()))
  const values: unknown[] = []
  for await (const value of decoder) values.push(value)
  return { schema, values }
}

describe('avroContainer', () => {
  const schema: avro.Schema = { type: 'record', name: 'Event', fields: [{ name: 'id', type: 'string' }, { name: 'n', type: ['null', 'long'] }, { name: 'tags', type: { type: 'map', values: 'string' } }] }
  const type = avro.Type.forSchema(schema)

  it('is an object container file any Avro reader reads back value for value', async () => {
    const events = [{ id: 'a', n: null, tags: {} }, { id: 'é', n: 42, tags: { k: 'v' } }, { id: '', n: -1, tags: { x: '' } }]
    const { schema: written, values } = await readContainer(avroContainer(schema, events.map((event) => type.toBuffer(event))))
    expect(written).toEqual(type.schema())
    expect(values).toEqual(events)
  })

  it('holds an empty block when there are no datums', async () => {
    expect((await readContainer(avroContainer(schema, []))).values).toEqual([])
  })

  it('encodes rows into one container, growing its block past rows larger than it', async () => {
    // Rows far larger than the block, and a run of small ones after them.
    const rows = [
      ...Array.from({ length: 3 }, (_, index) => ({ id: 'x'.repeat(5_000 * (index + 1)), n: index, tags: { big: 'y'.repeat(3_000) } })),
      // More than twice the block as it stands (16 KiB to start): one doubling is not enough.
      { id: 'z'.repeat(200_000), n: 7, tags: {} },
      ...Array.from({ length: 2_000 }, (_, index) => ({ id: `row-${index}`, n: index % 7 === 0 ? null : index, tags: {} })),
    ]
    const { schema: written, values } = await readContainer(avroRowsContainer(type, rows))
    expect(written).toEqual(type.schema())
    expect(values).toEqual(rows)
  })

  it('refuses a row that does not fit the type, naming what is wrong', () => {
    expect(() => avroRowsContainer(type, [{ id: 'a', n: 1, tags: {} }, { id: 'b', tags: {} }])).toThrow(/invalid/)
  })

  it('copies datums added batch by batch into one block, growing it, as one container of them all', async () => {
    const events = Array.from({ length: 3_000 }, (_, index) => ({ id: `event-${index}`.repeat(1 + (index % 40)), n: index % 3 === 0 ? null : index, tags: { index: String(index) } }))
    const block = new AvroDatumsBlock(schema)
    for (let start = 0; start < events.length; start += 700) block.add(events.slice(start, start + 700).map((event) => type.toBuffer(event)))
    expect(block.count).toBe(events.length)
    expect((await readContainer(block.container())).values).toEqual(events)
  })
})
